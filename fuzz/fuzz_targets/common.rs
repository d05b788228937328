//! The engine every fuzz target shares: built-in rules and YARA rules, built once.

use std::sync::OnceLock;

use ferretwatch_detect::Engine;

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}
