//! `GET /{tenant}/oauth2/v2.0/authorize`: a non-interactive authorization endpoint. It validates the
//! request like Entra, "signs in" the configured user (or the `login_hint` user) and redirects to
//! the redirect URI with `code` and `state` (query, fragment or form_post).

use std::collections::HashMap;
use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::device_code::signed_in_user;
use super::errors::OAuthError;
use super::find_user;
use super::grants::{AuthCode, CODE_LIFETIME};
use super::scopes::parse_delegated;
use crate::state::AppState;

/// An error shown on the authorization page itself (the redirect URI cannot be trusted).
fn error_page(error: &OAuthError) -> Response {
    let text = format!("AADSTS{}: {}", error.code, error.description);
    let body = format!(
        "<!DOCTYPE html><html><head><title>Sign in - error</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">{}</p><p id=\"error_code\">{}</p></body></html>",
        html_escape(&text),
        error.error
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where and how the answer goes back to the client.
struct Reply<'a> {
    redirect_uri: &'a str,
    mode: &'a str,
    state: Option<&'a str>,
}

impl Reply<'_> {
    fn send(&self, mut params: Vec<(&str, String)>) -> Response {
        if let Some(state) = self.state {
            params.push(("state", state.to_owned()));
        }
        if self.mode == "form_post" {
            let inputs: String = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
                        html_escape(k),
                        html_escape(v)
                    )
                })
                .collect();
            let body = format!(
                "<!DOCTYPE html><html><head><title>Working...</title></head><body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"{}\">{inputs}<noscript><input type=\"submit\" value=\"Continue\"/></noscript></form></body></html>",
                html_escape(self.redirect_uri)
            );
            return Html(body).into_response();
        }
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let location = if self.mode == "fragment" {
            format!("{}#{encoded}", self.redirect_uri)
        } else if self.redirect_uri.contains('?') {
            format!("{}&{encoded}", self.redirect_uri)
        } else {
            format!("{}?{encoded}", self.redirect_uri)
        };
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    }

    fn error(&self, error: &OAuthError) -> Response {
        self.send(vec![
            ("error", error.error.to_owned()),
            (
                "error_description",
                format!("AADSTS{}: {}", error.code, error.description),
            ),
            ("error_codes", error.code.to_string()),
        ])
    }
}

pub(crate) async fn authorize(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let identity = &state.identity;
    if let Err(e) = identity.resolve_tenant(&tenant) {
        return error_page(&e);
    }
    let Some(client_id) = param("client_id") else {
        return error_page(&OAuthError::missing_parameter("client_id"));
    };
    let Some(client) = identity.apps.read().get(client_id).cloned() else {
        return error_page(&OAuthError::unauthorized_client(
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                identity.config.tenant_id
            ),
        ));
    };
    let redirect_uri = match param("redirect_uri") {
        Some(uri) if client.accepts_redirect(uri) => uri.to_owned(),
        Some(uri) => {
            return error_page(&OAuthError::invalid_request(
                50011,
                format!(
                    "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                    client.client_id
                ),
            ));
        }
        None => match client.redirect_uris.first() {
            Some(uri) => uri.clone(),
            None => return error_page(&OAuthError::missing_parameter("redirect_uri")),
        },
    };
    let mode = param("response_mode").unwrap_or("query");
    let reply = Reply {
        redirect_uri: &redirect_uri,
        mode,
        state: param("state"),
    };
    if !matches!(mode, "query" | "fragment" | "form_post") {
        return reply.error(&OAuthError::invalid_request(
            90046,
            format!("Invalid response_mode '{mode}': use query, fragment or form_post."),
        ));
    }
    match param("response_type") {
        Some("code") => {}
        Some(other) => {
            let mut e = OAuthError::invalid_request(
                700054,
                format!(
                    "response_type '{other}' is not enabled for the application; this emulator supports response_type=code."
                ),
            );
            e.error = "unsupported_response_type";
            return reply.error(&e);
        }
        None => return reply.error(&OAuthError::missing_parameter("response_type")),
    }
    let scopes = match parse_delegated(param("scope"), &identity.apps.read()) {
        Ok(scopes) => scopes,
        Err(e) => return reply.error(&e),
    };
    let code_challenge = match (param("code_challenge"), param("code_challenge_method")) {
        (Some(challenge), Some("S256")) => {
            if !(43..=128).contains(&challenge.len()) {
                return reply.error(&OAuthError::invalid_request(
                    501491,
                    "Invalid size of Code_Challenge parameter.",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), method) => {
            return reply.error(&OAuthError::invalid_request(
                5002738,
                format!(
                    "Invalid code_challenge_method '{}': this emulator requires S256.",
                    method.unwrap_or("plain (default)")
                ),
            ));
        }
        (None, _) if client.is_public() => {
            return reply.error(&OAuthError::invalid_request(
                9002325,
                "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            ));
        }
        (None, _) => None,
    };
    let user = match param("login_hint") {
        Some(hint) => match find_user(&state.directory.read(), hint) {
            Some(user) => user,
            None => {
                return reply.error(&OAuthError::invalid_request(
                    50034,
                    format!(
                        "The user account {hint} does not exist in the {} directory.",
                        identity.config.tenant_id
                    ),
                ));
            }
        },
        None => match signed_in_user(&state) {
            Ok(user) => user,
            Err(e) => return reply.error(&e),
        },
    };
    let code = identity.grants.insert_code(AuthCode {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        user,
        code_challenge,
        nonce: param("nonce").map(str::to_owned),
        expires_at: SystemTime::now() + CODE_LIFETIME,
        redeemed: false,
    });
    reply.send(vec![("code", code)])
}
