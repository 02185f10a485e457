//! The HTTP client every outgoing call is built on: ConnectWise's (the reference
//! integration, sandbox clean-up), the relay's, and the Streamable HTTP client of an MCP
//! integration.
//!
//! TLS is rustls with the ring provider and the Mozilla roots of `webpki-roots`, set up
//! once per process and shared by every client. reqwest left on its own would read and
//! parse the system's certificate store for each client it builds (a scenario builds
//! several), and would fail to build one at all on a machine without a certificate store,
//! even for the plain-HTTP mock.

use std::sync::{Arc, LazyLock};

/// The TLS set-up every client shares.
static TLS: LazyLock<Result<rustls::ClientConfig, String>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|config| {
            let mut config = config.with_root_certificates(roots).with_no_client_auth();
            // What reqwest itself offers without HTTP/2.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            config
        })
        .map_err(|e| format!("failed to set up TLS: {e}"))
});

/// A reqwest client builder with the shared TLS set-up; `Err` says why TLS could not be
/// set up (the ring provider refused the default protocol versions).
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    let tls = TLS.as_ref().map_err(Clone::clone)?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls.clone()))
}

/// A reqwest client with the shared TLS set-up and reqwest's defaults otherwise (what
/// `reqwest::Client::new` gives).
pub fn client() -> Result<reqwest::Client, String> {
    client_builder()?.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_tls_is_ring_over_http_1_1() {
        let tls = TLS.as_ref().expect("TLS set up");
        assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let suites = |provider: &rustls::crypto::CryptoProvider| {
            provider
                .cipher_suites
                .iter()
                .map(rustls::SupportedCipherSuite::suite)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            suites(tls.crypto_provider()),
            suites(&rustls::crypto::ring::default_provider())
        );
    }

    #[tokio::test]
    async fn a_client_reaches_a_plain_http_site() {
        let site = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(wiremock::ResponseTemplate::new(204))
            .expect(1)
            .mount(&site)
            .await;
        let answer = client()
            .expect("a client")
            .get(format!("{}/system/info", site.uri()))
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), 204);
    }
}
