//! The checked-in JSON Schemas are generated from the types; a stale file fails.
//! Regenerate with `TETHER_BLESS=1 cargo test --test it schemas`.

use crate::harness::repo;

#[test]
fn schemas_are_fresh() {
    let bless = std::env::var_os("TETHER_BLESS").is_some();
    for (name, text) in tether::schema::all() {
        let path = repo().join("schemas").join(name);
        if bless {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("schemas/{name} is missing; run with TETHER_BLESS=1"));
        assert!(
            on_disk == text,
            "schemas/{name} is stale; regenerate with TETHER_BLESS=1 cargo test --test it schemas"
        );
    }
}

#[test]
fn validate_json_matches_its_schema_shape() {
    // The schema names every top-level field the command prints.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/validate.schema.json")).unwrap(),
    )
    .unwrap();
    let props = schema["properties"].as_object().unwrap();
    for k in [
        "format_version",
        "valid",
        "error_count",
        "warning_count",
        "diagnostics",
        "config",
    ] {
        assert!(props.contains_key(k), "validate.schema.json lacks {k}");
    }
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/config.schema.json")).unwrap(),
    )
    .unwrap();
    let props = config["properties"].as_object().unwrap();
    for k in ["format_version", "settings", "accounts", "moved"] {
        assert!(props.contains_key(k), "config.schema.json lacks {k}");
    }
}

#[test]
fn plan_json_fields_are_in_its_schema_with_typed_findings() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let env = crate::apply::Env::new(61);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    // A revoked key: identity drift, typed.
    let summary = env.sim.engine().summary();
    env.sim
        .engine()
        .revoke(
            tether_sim::Vendor::Aws,
            &summary.aws.accounts[0].main_account_id,
        )
        .unwrap();
    let out = env.tether(&["plan", "--refresh", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for k in plan.as_object().unwrap().keys() {
        assert!(props.contains_key(k), "`{k}` is not in plan.schema.json");
    }
    let drift = &plan["identity_drift"][0];
    assert_eq!(drift["kind"], "auth", "{drift}");
    assert!(drift["code"].is_string(), "{drift}");
    let finding = schema["$defs"]["IdentityDrift"]["properties"]
        .as_object()
        .unwrap();
    for k in drift.as_object().unwrap().keys() {
        assert!(finding.contains_key(k), "`{k}` is not in IdentityDrift");
    }
}
