//! The central service's API, as the site calls it.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, PRAGMA};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;
use crate::consent::Consent;

/// A call the site makes to the central service; named in logs and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `GET /_status/check`.
    Health,
    /// `POST /api/v1/token`.
    ExchangeCode,
    /// `GET /api/v1/users/{id}/preferences`.
    ReadConsent,
    /// `POST /api/v1/users/{id}/preferences`.
    WriteConsent,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::Health => "health check",
            Call::ExchangeCode => "code exchange",
            Call::ReadConsent => "consent read",
            Call::WriteConsent => "consent write",
        })
    }
}

/// Why a call to the central service failed. The messages name the call,
/// never the API key or the visitor's id.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The central service does not know the visitor (404).
    #[error("{0}: the central service does not know this visitor")]
    UnknownVisitor(Call),
    /// The central service answered with another non-success status.
    #[error("{call}: the central service answered {status}")]
    Status {
        /// The call that failed.
        call: Call,
        /// The status it answered.
        status: StatusCode,
    },
    /// No answer within the configured timeout.
    #[error("{0}: the central service did not answer in time")]
    Timeout(Call),
    /// The connection failed or broke off.
    #[error("{call}: could not reach the central service: {source}")]
    Transport {
        /// The call that failed.
        call: Call,
        /// What the HTTP client saw, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON the protocol describes.
    #[error("{call}: the central service's answer is malformed: {reason}")]
    Body {
        /// The call that failed.
        call: Call,
        /// What was wrong with it.
        reason: String,
    },
}

impl UpstreamError {
    fn from_reqwest(call: Call, error: reqwest::Error) -> Self {
        // The URL can hold the visitor's id: drop it from the error.
        let error = error.without_url();
        if error.is_timeout() {
            UpstreamError::Timeout(call)
        } else if error.is_decode() {
            UpstreamError::Body {
                call,
                reason: error.to_string(),
            }
        } else {
            UpstreamError::Transport {
                call,
                source: error,
            }
        }
    }
}

/// The HTTP client for the central service could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("cookie_service_api_key holds characters an HTTP header cannot carry")]
    BadApiKey,
    #[error("could not build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

use ClientError::BadApiKey;

/// The consent the central service holds for a visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteConsent {
    /// The stored preferences.
    pub preferences: Preferences,
    /// When they were last written, as the central service writes it.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The `preferences` object of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// The visitor's consent.
    pub consent: Consent,
}

#[derive(Deserialize)]
struct TokenAnswer {
    user_uuid: Uuid,
}

/// The longest one-time code passed on to the central service.
pub const MAX_CODE_LEN: usize = 512;

/// One pooled HTTP client for the central service.
#[derive(Clone)]
pub(crate) struct Central {
    http: reqwest::Client,
    bearer: Option<HeaderValue>,
    base: String,
    health_timeout: Duration,
}

impl Central {
    pub(crate) fn new(config: &Config) -> Result<Central, ClientError> {
        let bearer = (!config.cookie_service_api_key.is_empty())
            .then(|| HeaderValue::from_str(&format!("Bearer {}", config.cookie_service_api_key)))
            .transpose()
            .map_err(|_| BadApiKey)?
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rocket_cookie_service/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
        Ok(Central {
            http,
            bearer,
            base: config.central_base().to_owned(),
            health_timeout: config.health_timeout(),
        })
    }

    /// Where the browser goes to get a session with the central service;
    /// the banner script appends the page's URL.
    pub(crate) fn session_url(&self) -> String {
        format!("{}/api/v1/cookies/session?return_uri=", self.base)
    }

    /// Whether the central service answers its health check with 200 in
    /// time.
    pub(crate) async fn is_up(&self) -> bool {
        let url = format!("{}/_status/check", self.base);
        let answer = self.http.get(url).timeout(self.health_timeout).send().await;
        match answer {
            Ok(answer) => answer.status() == StatusCode::OK,
            Err(e) => {
                log::debug!("{}", UpstreamError::from_reqwest(Call::Health, e));
                false
            }
        }
    }

    /// Exchanges a one-time code for the visitor's id. The id is accepted
    /// only if it is a UUID, since it goes into URL paths later.
    pub(crate) async fn exchange_code(&self, code: &str) -> Result<Uuid, UpstreamError> {
        let call = Call::ExchangeCode;
        let url = format!("{}/api/v1/token", self.base);
        let body = rocket::serde::json::json!({ "code": code });
        let answer: TokenAnswer = self
            .send(call, self.api(Method::POST, url).json(&body))
            .await?;
        Ok(answer.user_uuid)
    }

    /// Reads the visitor's consent.
    pub(crate) async fn read_consent(&self, user: Uuid) -> Result<RemoteConsent, UpstreamError> {
        let request = self
            .api(Method::GET, self.preferences_url(user))
            .header(CACHE_CONTROL, "no-cache")
            .header(PRAGMA, "no-cache");
        self.send(Call::ReadConsent, request).await
    }

    /// Writes the visitor's consent.
    pub(crate) async fn write_consent(
        &self,
        user: Uuid,
        consent: Consent,
    ) -> Result<(), UpstreamError> {
        let body = RemoteConsentWrite {
            preferences: Preferences { consent },
        };
        let request = self
            .api(Method::POST, self.preferences_url(user))
            .json(&body);
        let _: rocket::serde::json::Value = self.send(Call::WriteConsent, request).await?;
        Ok(())
    }

    /// A request to the API, with the Bearer key.
    fn api(&self, method: Method, url: String) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.bearer {
            Some(bearer) => request.header(AUTHORIZATION, bearer.clone()),
            None => request,
        }
    }

    fn preferences_url(&self, user: Uuid) -> String {
        format!(
            "{}/api/v1/users/{}/preferences",
            self.base,
            user.as_hyphenated()
        )
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        request: reqwest::RequestBuilder,
    ) -> Result<T, UpstreamError> {
        let answer = request
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(call, e))?;
        match answer.status() {
            StatusCode::NOT_FOUND if matches!(call, Call::ReadConsent | Call::WriteConsent) => {
                return Err(UpstreamError::UnknownVisitor(call))
            }
            status if !status.is_success() => return Err(UpstreamError::Status { call, status }),
            _ => {}
        }
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| UpstreamError::from_reqwest(call, e))?;
        rocket::serde::json::from_slice(&bytes).map_err(|e| UpstreamError::Body {
            call,
            reason: e.to_string(),
        })
    }
}

#[derive(Serialize)]
struct RemoteConsentWrite {
    preferences: Preferences,
}
