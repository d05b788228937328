//! The console's one error type and its one mapping to pages: a refusal is a 4xx page
//! that says why in plain words; a store failure is a 503 page; internals are logged,
//! never shown.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ferretwatch_store::{ErrorKind, StoreError, TokenRole};

use super::permissions::Permission;
use super::session::Viewer;
use super::views::{render, ErrorPage, Nav};

/// Why a console request was refused or failed.
#[derive(Debug)]
pub enum ConsoleError {
    /// No session: go and sign in.
    SignedOut,
    /// Signed in with the first factor only: the code is still due.
    SecondStep,
    /// A session cookie whose session ended (expired, signed out elsewhere, disabled).
    Expired,
    /// The role in force may not.
    Forbidden {
        /// The role in force.
        role: TokenRole,
        /// What the route needs.
        permission: Permission,
        /// Who asked (for the header and the elevation hint).
        viewer: Box<Viewer>,
    },
    /// A form without a valid CSRF token, or from another origin.
    Csrf,
    /// Too many attempts; try again after the wait.
    TooMany(Duration),
    /// The request is malformed; the message says how.
    BadRequest(String),
    /// Nothing here.
    NotFound,
    /// The database failed.
    Store(StoreError),
    /// Something else failed (logged, not shown).
    Internal(String),
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ConsoleError::Store(e)
    }
}

fn page(status: StatusCode, title: &str, message: String, nav: Option<Nav>, back: &str) -> Response {
    render(
        status,
        &ErrorPage { nav, flash: None, title: title.to_owned(), message, elevate_to: None, back: back.to_owned() },
    )
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignedOut => Redirect::to("/admin/login").into_response(),
            ConsoleError::SecondStep => Redirect::to("/admin/login/totp").into_response(),
            ConsoleError::Expired => {
                let mut response = Redirect::to("/admin/login?expired=1").into_response();
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, super::session::clear_cookie(super::session::SESSION_COOKIE));
                response
            }
            ConsoleError::Forbidden { role, permission, viewer } => {
                let elevate_to = viewer
                    .account
                    .eligible_role
                    .filter(|r| viewer.elevation.is_none() && super::permissions::allows(*r, permission))
                    .map(|r| r.code().to_owned());
                render(
                    StatusCode::FORBIDDEN,
                    &ErrorPage {
                        nav: Some(Nav::new(&viewer, "")),
                        flash: None,
                        title: "Not allowed".into(),
                        message: format!("Your role, {role}, may not {}.", permission.describe()),
                        elevate_to,
                        back: "/admin/account".into(),
                    },
                )
            }
            ConsoleError::Csrf => page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this console's own page, or it has expired. Open the page again and \
                 resend."
                    .into(),
                None,
                "/admin",
            ),
            ConsoleError::TooMany(wait) => {
                let secs = wait.as_secs().max(1);
                let mut response = page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    format!("Too many sign-in attempts. Try again in {secs} seconds."),
                    None,
                    "/admin/login",
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                response
            }
            ConsoleError::BadRequest(why) => page(StatusCode::BAD_REQUEST, "Bad request", why, None, "/admin"),
            ConsoleError::NotFound => {
                page(StatusCode::NOT_FOUND, "Not found", "There is no such page or item.".into(), None, "/admin")
            }
            ConsoleError::Store(e) => match e.kind() {
                ErrorKind::NotFound => {
                    page(StatusCode::NOT_FOUND, "Not found", "There is no such item.".into(), None, "/admin")
                }
                ErrorKind::Conflict | ErrorKind::Invalid | ErrorKind::Gone => {
                    page(StatusCode::CONFLICT, "Not done", e.to_string(), None, "/admin")
                }
                ErrorKind::Unavailable | ErrorKind::Internal => {
                    tracing::error!(error = %crate::error::chain(&e), "console: the store failed");
                    page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Unavailable",
                        "The database did not answer. Try again shortly.".into(),
                        None,
                        "/admin",
                    )
                }
            },
            ConsoleError::Internal(why) => {
                tracing::error!(error = %why, "console: internal error");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed",
                    "Something failed on the server; it has been logged.".into(),
                    None,
                    "/admin",
                )
            }
        }
    }
}
