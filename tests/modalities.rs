//! Images, speech and transcriptions through the gateway with the OpenAI SDK: JSON in and
//! JSON out, JSON in and audio bytes out, and a multipart upload whose file must arrive intact
//! (and fail over like any other request) while its `model` field is renamed for the target.

use async_openai::types::audio::{
    AudioInput, CreateSpeechRequestArgs, CreateTranscriptionRequestArgs,
    CreateTranslationRequestArgs, SpeechModel, Voice,
};
use async_openai::types::images::{CreateImageRequestArgs, Image, ImageModel, ImageResponseFormat};
use serde_json::{json, Value};
use switchyard_tests::*;

/// A config with one provider on `primary` and a route per modality; `backup` (if given) is
/// the fallback of the `ears` route.
fn config(primary: &MockServer, backup: Option<&MockServer>) -> String {
    let mut yaml = format!(
        "providers:\n  local:\n    kind: openai\n    base_url: {}\n    api_key: sk-mock-key\n    models: [gpt-4o-mini]\n",
        primary.base_url()
    );
    if let Some(b) = backup {
        yaml.push_str(&format!(
            "  spare:\n    kind: openai\n    base_url: {}\n    api_key: sk-mock-key\n    models: []\n",
            b.base_url()
        ));
    }
    yaml.push_str(
        "routes:\n  painter:\n    targets: [ { provider: local, model: gpt-image-1 } ]\n  voice:\n    targets: [ { provider: local, model: tts-1-hd } ]\n",
    );
    if backup.is_some() {
        yaml.push_str("  ears:\n    strategy: fallback\n    targets:\n      - { provider: local, model: whisper-1 }\n      - { provider: spare, model: whisper-large }\n");
    } else {
        yaml.push_str("  ears:\n    targets: [ { provider: local, model: whisper-1 } ]\n");
    }
    yaml
}

/// Audio-like bytes that would break a careless multipart parser: CRLFs, dashes, a line that
/// looks like a boundary, NUL and non-UTF-8 bytes.
fn awkward_audio() -> Vec<u8> {
    let mut v = b"RIFF\r\n--\r\n----WebKitFormBoundary\r\n\r\n".to_vec();
    v.extend((0..=255u8).cycle().take(70_000));
    v.extend_from_slice(b"\r\n--");
    v
}

#[tokio::test]
async fn images_are_generated_through_a_route() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, None)).await;
    let req = CreateImageRequestArgs::default()
        .model(ImageModel::Other("painter".into()))
        .prompt("a switchyard at dawn")
        .n(2)
        .response_format(ImageResponseFormat::B64Json)
        .build()
        .unwrap();
    let resp = gw.openai().images().generate(req).await.unwrap();
    assert_eq!(resp.data.len(), 2);
    for img in &resp.data {
        match &**img {
            Image::B64Json { b64_json, .. } => assert!(!b64_json.is_empty()),
            other => panic!("expected base64 images, got {other:?}"),
        }
    }
    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(last["path"], "/v1/images/generations");
    assert_eq!(last["body"]["model"], "gpt-image-1");
    assert_eq!(last["body"]["n"], 2);
    assert_eq!(last["headers"]["authorization"], "Bearer sk-mock-key");

    // The provider's validation errors come back with their status, OpenAI-shaped.
    let r = gw
        .post(
            "/v1/images/generations",
            &json!({"model": "painter", "prompt": "x", "n": 11}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["param"], "n");
}

#[tokio::test]
async fn speech_audio_bytes_arrive_unchanged() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, None)).await;
    let req = CreateSpeechRequestArgs::default()
        .model(SpeechModel::Other("voice".into()))
        .input("All aboard.")
        .voice(Voice::Alloy)
        .build()
        .unwrap();
    let via_gateway = gw.openai().audio().speech().create(req).await.unwrap();

    let direct = http()
        .post(format!("{}/audio/speech", mock.base_url()))
        .bearer_auth("sk-mock-key")
        .json(&json!({"model": "tts-1-hd", "input": "All aboard.", "voice": "alloy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    let direct = direct.bytes().await.unwrap();
    assert_eq!(via_gateway.bytes, direct);
    assert!(std::str::from_utf8(&direct).is_err(), "the audio is binary");

    let r = gw
        .post(
            "/v1/audio/speech",
            &json!({"model": "voice", "input": "hi", "voice": "alloy", "response_format": "wav"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
}

#[tokio::test]
async fn transcriptions_upload_the_file_intact_and_rename_the_model() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, None)).await;
    let audio = awkward_audio();
    let req = CreateTranscriptionRequestArgs::default()
        .file(AudioInput::from_vec_u8("clip.wav".into(), audio.clone()))
        .model("ears")
        .language("en")
        .build()
        .unwrap();
    let resp = gw
        .openai()
        .audio()
        .transcription()
        .create(req)
        .await
        .unwrap();
    // The mock counts the bytes of the file it received and names the model it was asked for.
    assert_eq!(
        resp.text,
        format!("Transcribed {} bytes with whisper-1.", audio.len())
    );
    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert!(last["headers"]["content-type"]
        .as_str()
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    assert_eq!(last["headers"]["authorization"], "Bearer sk-mock-key");

    let req = CreateTranslationRequestArgs::default()
        .file(AudioInput::from_vec_u8("clip.wav".into(), audio.clone()))
        .model("ears")
        .build()
        .unwrap();
    let resp = gw.openai().audio().translation().create(req).await.unwrap();
    assert_eq!(
        resp.text,
        format!("Translated {} bytes with whisper-1.", audio.len())
    );
}

#[tokio::test]
async fn a_failed_upload_fails_over_with_the_whole_file() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&config(&primary, Some(&backup))).await;
    primary.script(json!([{"status": 503}])).await;
    let audio = awkward_audio();
    let req = CreateTranscriptionRequestArgs::default()
        .file(AudioInput::from_vec_u8("clip.wav".into(), audio.clone()))
        .model("ears")
        .build()
        .unwrap();
    let resp = gw
        .openai()
        .audio()
        .transcription()
        .create(req)
        .await
        .unwrap();
    assert_eq!(
        resp.text,
        format!("Transcribed {} bytes with whisper-large.", audio.len())
    );
    assert_eq!(primary.requests().await.len(), 1);
    assert_eq!(backup.requests().await.len(), 1);
}

#[tokio::test]
async fn malformed_forms_get_a_clear_400() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, None)).await;
    let url = gw.url("/v1/audio/transcriptions");
    for (content_type, body) in [
        ("application/json", r#"{"model":"ears"}"#.to_owned()),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nears".to_owned(),
        ),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--b--\r\n"
                .to_owned(),
        ),
    ] {
        let r = http()
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 10);
    }
    assert!(
        mock.requests().await.is_empty(),
        "nothing reached the provider"
    );
}
