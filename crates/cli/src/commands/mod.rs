//! One module per command group; a group with several commands is a folder with one file
//! per command.

pub mod abuse;
pub mod admin;
pub mod audit;
pub mod backup;
pub mod bulletin;
pub mod canary;
pub mod db;
pub mod incident;
pub mod intel;
pub mod keys;
pub mod logs;
pub mod pack;
pub mod perf;
pub mod reports;
pub mod reproduce;
pub mod root;
pub mod rules;
pub mod scan;
pub mod security;
pub mod serve;
pub mod simulate;
pub mod tls;
pub mod update;
