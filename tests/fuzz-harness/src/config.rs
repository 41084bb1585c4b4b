//! Config text: the YAML file (`load_str`) and the per-request config header
//! (`load_request_config`, both flavours), which any client may send.

use std::sync::OnceLock;

use switchyard_config::{load_request_config, load_str, Config, Flavor};

/// The running config a per-request config is checked against: a provider of each common
/// shape and a route to refer to.
pub const FIXED: &str = r#"
providers:
  a: { kind: openai, base_url: http://127.0.0.1:9/v1, api_key: "${SET}" }
  b: { kind: anthropic, api_key: k, base_url: http://127.0.0.1:9/v1 }
routes:
  cheap: { targets: [ { provider: a, model: mini } ] }
  smart: { strategy: fallback, targets: [ { provider: b, model: big }, { route: cheap } ] }
"#;

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_owned())
}

fn fixed() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| load_str(FIXED, "fixed.yaml", &env).expect("the fixed config loads"))
}

/// Loads the input as a config file and as a per-request config of each flavour: any result
/// is fine, a panic is not, and every error names where it is.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errs) = load_str(text, "fuzz.yaml", &env) {
        assert!(!errs.0.is_empty(), "an error result with no error");
        let _ = errs.to_string();
    }
    for flavor in [Flavor::Switchyard, Flavor::Portkey] {
        match load_request_config(text, "x-config", flavor, fixed()) {
            Ok(node) => {
                let _ = format!("{node:?}");
            }
            Err(errs) => {
                assert!(!errs.0.is_empty(), "an error result with no error");
                let _ = errs.to_string();
            }
        }
    }
}
