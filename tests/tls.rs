//! TLS on the gateway listener (`server.tls`): HTTP/1.1 and HTTP/2 (by ALPN) clients, and a
//! renewed certificate picked up without a restart.
// The helpers below fail the tests like their own asserts.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use switchyard_tests::*;

/// Accepts the server's certificate and records it: the tests check which one is served.
#[derive(Debug, Default)]
struct Seen(Mutex<Option<Vec<u8>>>);

impl ServerCertVerifier for Seen {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap() = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS connection to `port` offering `alpn`: the stream and the certificate served.
fn connect(port: u16, alpn: &[u8]) -> (StreamOwned<ClientConnection, TcpStream>, Vec<u8>) {
    init();
    let seen = Arc::new(Seen::default());
    let mut config = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(seen.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    let cert = seen.0.lock().unwrap().clone().unwrap();
    (tls, cert)
}

fn pem_cert(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

/// A gateway serving TLS with copies of the test certificate in its own directory.
async fn tls_gateway(mock: &MockServer, certs: &TempDir) -> Gateway {
    let fixtures = repo_root().join("tests/fixtures/tls");
    std::fs::copy(fixtures.join("server.pem"), certs.0.join("cert.pem")).unwrap();
    std::fs::copy(fixtures.join("server.key"), certs.0.join("key.pem")).unwrap();
    Gateway::start(&format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", threads: 2, tls: {{ cert: \"{}\", key: \"{}\" }} }}\n{}",
        certs.0.join("cert.pem").display(),
        certs.0.join("key.pem").display(),
        single_provider(mock)
    ))
    .await
}

/// An HTTP/1.1 exchange over TLS: the whole response.
fn h1(port: u16, request: &str) -> (String, Vec<u8>) {
    let (mut tls, cert) = connect(port, b"http/1.1");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), cert)
}

fn chat_request() -> String {
    let body = serde_json::to_string(&chat("fast", "over tls")).unwrap();
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/2 GET over TLS (ALPN `h2`), HPACK-encoded by hand without indexing: the response
/// HEADERS block's first byte.
fn h2_get(port: u16, path: &str) -> u8 {
    let (mut tls, _) = connect(port, b"h2");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"h2"[..]));
    let mut block = vec![0x82, 0x87]; // :method GET, :scheme https
    for (index, value) in [(4u8, path), (1u8, "127.0.0.1")] {
        // Literal without indexing, name from the static table (:path, :authority).
        block.push(index);
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]); // SETTINGS, empty
    let len = block.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(&[0x1, 0x5, 0, 0, 0, 1]); // HEADERS, END_STREAM|END_HEADERS, stream 1
    out.extend_from_slice(&block);
    tls.write_all(&out).unwrap();
    for _ in 0..32 {
        let mut head = [0u8; 9];
        tls.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        tls.read_exact(&mut payload).unwrap();
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] == 0x1 && stream == 1 {
            assert_eq!(head[4] & 0x28, 0, "padded or prioritised HEADERS");
            return payload[0];
        }
    }
    panic!("no response HEADERS on stream 1");
}

#[tokio::test]
async fn tls_clients_are_served_over_http1_and_http2() {
    let mock = MockServer::start().await;
    let certs = TempDir::new();
    let gw = tls_gateway(&mock, &certs).await;
    let port = gw.port;
    let (reply, cert) = tokio::task::spawn_blocking(move || h1(port, &chat_request()))
        .await
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("You said: over tls"), "{reply}");
    assert_eq!(
        cert,
        pem_cert(&repo_root().join("tests/fixtures/tls/server.pem"))
    );
    // HTTP/2 negotiated by ALPN: `:status: 200` (static table index 8).
    let status = tokio::task::spawn_blocking(move || h2_get(port, "/v1/models"))
        .await
        .unwrap();
    assert_eq!(status, 0x88);
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = http()
        .get(gw.url("/v1/models"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let mock = MockServer::start().await;
    let certs = TempDir::new();
    let gw = tls_gateway(&mock, &certs).await;
    let port = gw.port;
    let fixtures = repo_root().join("tests/fixtures/tls");
    let old = pem_cert(&fixtures.join("server.pem"));
    let new = pem_cert(&fixtures.join("reload.pem"));
    let (_, served) = tokio::task::spawn_blocking(move || connect(port, b"http/1.1"))
        .await
        .unwrap();
    assert_eq!(served, old);
    // Renewal: new files moved into place, key first.
    for (from, to) in [("reload.key", "key.pem"), ("reload.pem", "cert.pem")] {
        let tmp = certs.0.join(format!("{to}.tmp"));
        std::fs::copy(fixtures.join(from), &tmp).unwrap();
        std::fs::rename(&tmp, certs.0.join(to)).unwrap();
    }
    wait_until(
        "the new certificate to be served",
        Duration::from_secs(15),
        || async {
            let (_, served) = tokio::task::spawn_blocking(move || connect(port, b"http/1.1"))
                .await
                .unwrap();
            (served == new).then_some(())
        },
    )
    .await;
    gw.logs_with(|l| l.contains("TLS certificate reloaded"))
        .await;
    // And requests are served with it.
    let (reply, cert) = tokio::task::spawn_blocking(move || h1(port, &chat_request()))
        .await
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert_eq!(cert, new);
}

#[test]
fn a_certificate_that_does_not_load_is_refused_by_check() {
    let dir = TempDir::new();
    let fixtures = repo_root().join("tests/fixtures/tls");
    let config = dir.0.join("tls.yaml");
    for (cert, key, want) in [
        (
            dir.0.join("missing.pem"),
            fixtures.join("server.key"),
            "cannot read",
        ),
        // A key that is not the certificate's.
        (
            fixtures.join("server.pem"),
            fixtures.join("reload.key"),
            "does not match",
        ),
    ] {
        std::fs::write(
            &config,
            format!(
                "server: {{ tls: {{ cert: \"{}\", key: \"{}\" }} }}\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let out = std::process::Command::new(bin("switchyard"))
            .args(["check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("server.tls") && err.contains(want), "{err}");
    }
}
