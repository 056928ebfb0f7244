//! The sandbox authenticates like the real API: signature over the exact body, Access-Time
//! against the real wall clock, registered projects only.

use crate::harness::*;
use reqwest::Method;
use stark::api::Query;
use stark::api::auth::wall_clock_seconds;
use stark::keys::PrivateKey;

#[tokio::test]
async fn signed_requests_pass_and_tampered_stale_or_unknown_ones_do_not() {
    let env = api(config()).await;
    let access_id = format!("project/{PROJECT}");

    // The real client is accepted.
    let balance = env.client.balance().await.unwrap().value;
    assert_eq!(balance.amount, stark::sandbox::START_BALANCE);
    assert_eq!(balance.currency, "BRL");

    // The same signed body is accepted raw...
    let body = invoices_body(1, 1000, "auth");
    let (status, v) = env
        .raw(
            Method::POST,
            "/v2/invoice",
            &access_id,
            &wall_clock_seconds(),
            &body,
            &body,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["invoices"].as_array().unwrap().len(), 1);

    // ...but one changed byte breaks the signature.
    let mut tampered = body.clone();
    let pos = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[pos] = b'9';
    let (status, v) = env
        .raw(
            Method::POST,
            "/v2/invoice",
            &access_id,
            &wall_clock_seconds(),
            &body,
            &tampered,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(first_code(&v), "invalidCredentials", "{v}");
    assert_eq!(
        env.sb.truth().invoices.len(),
        1,
        "the tampered request created nothing"
    );

    // A correctly signed request an hour old is refused for its time.
    let stale = (chrono::Utc::now().timestamp() - 3600).to_string();
    let (status, v) = env
        .raw(Method::GET, "/v2/balance", &access_id, &stale, b"", b"")
        .await;
    assert_eq!(status, 400);
    assert_eq!(first_code(&v), "invalidAccessTime", "{v}");

    // Fractional seconds are fine.
    let frac = format!("{}.250", chrono::Utc::now().timestamp());
    let (status, _) = env
        .raw(Method::GET, "/v2/balance", &access_id, &frac, b"", b"")
        .await;
    assert_eq!(status, 200);

    // Unknown project.
    let (status, v) = env
        .raw(
            Method::GET,
            "/v2/balance",
            "project/999",
            &wall_clock_seconds(),
            b"",
            b"",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(first_code(&v), "invalidCredentials");

    // Missing headers.
    let resp = env
        .http
        .get(format!("{}/v2/balance", env.sb.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(first_code(&v), "invalidCredentials");

    // A key that is not the registered one, through the real client.
    let other = std::sync::Arc::new(PrivateKey::generate());
    let client = stark::api::Client::new(stark::api::ClientConfig::new(
        env.sb.url(),
        PROJECT,
        other.clone(),
    ))
    .unwrap();
    let e = client
        .get_value("invoice", &Query::new())
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidCredentials"]);

    // Registering it at run time makes it work.
    env.sb.register_project("77", other.public_key());
    let client =
        stark::api::Client::new(stark::api::ClientConfig::new(env.sb.url(), "77", other)).unwrap();
    client.get_value("invoice", &Query::new()).await.unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn projects_can_be_registered_through_the_admin_api() {
    let env = api(config()).await;
    let key = std::sync::Arc::new(PrivateKey::generate());
    let (status, v) = env
        .admin(
            Method::POST,
            "projects",
            serde_json::json!({"id": "4242", "publicKey": key.public_key().to_pem()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let client =
        stark::api::Client::new(stark::api::ClientConfig::new(env.sb.url(), "4242", key)).unwrap();
    let keys = client.public_keys().await.unwrap();
    assert_eq!(
        stark::keys::PublicKey::from_pem(&keys[0].content).unwrap(),
        env.sb.public_key()
    );
    let (status, _) = env
        .admin(
            Method::POST,
            "projects",
            serde_json::json!({"id": "1", "publicKey": "nope"}),
        )
        .await;
    assert_eq!(status, 400);
}
