//! The sandbox's resources, validation, paging, bank behaviour and faults, driven through the
//! real client.

use std::collections::HashMap;

use crate::harness::*;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use stark::api::ApiError;
use stark::api::Query;
use stark::api::model::{Event, Invoice, InvoiceLog, Transfer, TransferLog};
use stark::sandbox::{FaultRule, START_BALANCE};

#[tokio::test]
async fn a_batch_with_one_bad_element_creates_nothing() {
    let env = api(config()).await;
    let body = serde_json::to_vec(&json!({"invoices": [
        {"amount": 100, "taxId": "012.345.678-90", "name": "A"},
        {"amount": 100, "taxId": "123.456.789-10", "name": "B"},
        {"amount": 100, "taxId": "33745107608", "name": "C"},
    ]}))
    .unwrap();
    let e = env.client.create_invoices_raw(&body).await.unwrap_err();
    let ApiError::Rejected { errors, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "invalidTaxId");
    assert!(errors[0].message.starts_with("Element 1: "), "{errors:?}");
    assert!(env.sb.truth().invoices.is_empty());

    // Wrong types are errors, one per bad element.
    let body = serde_json::to_vec(&json!({"invoices": [
        {"amount": 1.5, "taxId": "012.345.678-90", "name": "A"},
        {"amount": "100", "taxId": "012.345.678-90", "name": "B"},
        {"amount": 100, "taxId": "012.345.678-90"},
    ]}))
    .unwrap();
    let e = env.client.create_invoices_raw(&body).await.unwrap_err();
    assert_eq!(
        e.codes(),
        vec!["invalidAmount", "invalidAmount", "invalidName"]
    );

    // Invalid JSON, an empty batch and more than 100 elements.
    let e = env
        .client
        .post_raw("invoice", b"{\"invoices\": [")
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidJson"]);
    let e = env
        .client
        .post_raw("invoice", br#"{"invoices": []}"#)
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidJson"]);
    let e = env
        .client
        .create_invoices_raw(&invoices_body(101, 100, "x"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Rejected { .. }), "{e:?}");
    assert!(env.sb.truth().invoices.is_empty());

    // Formatted or not, tags lowercased, defaults filled in.
    let body = serde_json::to_vec(&json!({"invoices": [
        {"amount": 0, "taxId": "33745107608", "name": "A", "tags": ["Batch-1"]},
        {"amount": 250, "taxId": "20.018.183/0001-80", "name": "B", "due": "2026-03-10T10:00:00+00:00"},
    ]}))
    .unwrap();
    let created = env.client.create_invoices_raw(&body).await.unwrap();
    assert_eq!(created[0].tags, vec!["batch-1"]);
    assert_eq!(created[0].tax_id, "337.451.076-08");
    assert_eq!(created[0].status, "created");
    assert_eq!(created[0].id.len(), 16);
    assert!(created[0].id.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(created[0].due.unwrap().0, t0() + Duration::days(2));
    assert_eq!(
        created[1].due.unwrap().to_api(),
        "2026-03-10T10:00:00.000000+00:00"
    );
    let got = env.client.get_invoice(&created[1].id).await.unwrap();
    assert_eq!(got, created[1]);
    let e = env
        .client
        .get_invoice("1234567890123456")
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidInvoice"]);
    env.sb.shutdown().await;
}

#[tokio::test]
async fn routes_bodies_and_methods_fail_cleanly() {
    let env = api(config()).await;
    let e = env
        .client
        .get_value("nope", &Query::new())
        .await
        .unwrap_err();
    let ApiError::Status { status, body } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 404);
    assert!(body.contains("\"errors\""), "{body}");

    let (status, v) = env.signed(Method::PUT, "/v2/invoice", b"").await;
    assert_eq!(status, 405);
    assert_eq!(first_code(&v), "methodNotAllowed");

    let big = vec![b' '; 2 * 1024 * 1024];
    let e = env.client.post_raw("invoice", &big).await.unwrap_err();
    let ApiError::Status { status, body } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 413);
    assert!(body.contains("\"errors\""), "{body}");

    let e = env
        .client
        .get_value("invoice", &Query::new().set("limit", 500))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidLimit"]);
    let e = env
        .client
        .get_value("invoice", &Query::new().set("cursor", "bogus"))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidCursor"]);
    let e = env
        .client
        .get_value("event", &Query::new().set("isDelivered", "maybe"))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidIsDelivered"]);
    let e = env
        .client
        .post_raw(
            "webhook",
            br#"{"url": "http://example.com/hook", "subscriptions": ["invoice"]}"#,
        )
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidUrl"]);
    let e = env
        .client
        .create_webhook("https://example.com/hook", &["invoices"])
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidSubscriptions"]);
    env.sb.shutdown().await;
}

#[tokio::test]
async fn paging_returns_each_invoice_once_even_while_states_change() {
    let env = api(config()).await;
    for n in [100, 100, 50] {
        env.client
            .create_invoices_raw(&invoices_body(n, 1000, "paging"))
            .await
            .unwrap();
    }
    let q = Query::new().set("tags", "paging").set("limit", 100);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (items, next): (Vec<Invoice>, _) = env
            .client
            .page("invoice", "invoices", &q, cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        // Newest first.
        for w in items.windows(2) {
            assert!(w[0].created >= w[1].created);
        }
        for i in &items {
            *seen.entry(i.id.clone()).or_default() += 1;
        }
        // Between pages: pay some of what is left, create newer invoices.
        if pages == 1 {
            let any_old = env.sb.truth().invoices[..150]
                .iter()
                .map(|i| i.id.clone())
                .collect::<Vec<_>>();
            for id in any_old.iter().step_by(7) {
                let (s, v) = env
                    .admin(Method::POST, &format!("invoices/{id}/pay"), json!({}))
                    .await;
                assert_eq!(s, 200, "{v}");
            }
            env.client
                .create_invoices_raw(&invoices_body(10, 5, "paging"))
                .await
                .unwrap();
            env.sb.advance(Duration::minutes(30));
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert!(seen.values().all(|n| *n == 1));
    // The status filter sees the change.
    let paid = env
        .client
        .list_all::<Invoice>("invoice", "invoices", Query::new().set("status", "paid"))
        .await
        .unwrap();
    assert!(!paid.is_empty() && paid.iter().all(|i| i.status == "paid"));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_leaves_the_invoices_created() {
    let env = api(config()).await;
    env.sb.set_faults(vec![
        FaultRule::parse("invoice.create:lost-response=1").unwrap(),
    ]);
    let (mut cut, mut bad_gateway) = (0, 0);
    for round in 0..8 {
        let tag = format!("lost-{round}");
        let e = env
            .client
            .create_invoices_raw(&invoices_body(3, 500, &tag))
            .await
            .unwrap_err();
        assert!(e.is_ambiguous(), "round {round}: {e:?}");
        match e {
            ApiError::Status { status: 502, .. } => bad_gateway += 1,
            ApiError::Transport { .. } => cut += 1,
            other => panic!("unexpected {other:?}"),
        }
        // Reads are not affected by that rule.
        let found = env
            .client
            .list_all::<Invoice>("invoice", "invoices", Query::new().set("tags", &tag))
            .await
            .unwrap();
        assert_eq!(found.len(), 3, "round {round}");
    }
    assert!(cut > 0 && bad_gateway > 0, "cut {cut}, 502 {bad_gateway}");
    env.sb.set_faults(vec![FaultRule::parse("500=1").unwrap()]);
    let e = env.client.balance().await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 500, .. }), "{e:?}");
    let before = env.sb.truth().invoices.len();
    let e = env
        .client
        .create_invoices_raw(&invoices_body(1, 500, "x"))
        .await
        .unwrap_err();
    assert!(e.is_ambiguous());
    assert_eq!(env.sb.truth().invoices.len(), before, "a 500 does nothing");
    env.sb.set_faults(vec![]);
    env.client.balance().await.unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn invoices_get_paid_and_credited_with_a_fee_and_every_log_is_an_event() {
    let env = api(config()).await;
    let created = env
        .client
        .create_invoices_raw(&invoices_body(10, 10_000, "pay"))
        .await
        .unwrap();
    assert!(
        created
            .iter()
            .all(|i| i.fee == Some(0) && i.status == "created")
    );
    env.sb.advance(Duration::minutes(4));
    assert!(
        env.sb
            .truth()
            .invoices
            .iter()
            .all(|i| i.status == "created")
    );
    env.sb.advance(Duration::minutes(16));
    let truth = env.sb.truth();
    let mut expected_balance = START_BALANCE;
    for inv in &created {
        let got = env.client.get_invoice(&inv.id).await.unwrap();
        assert_eq!(got.status, "paid");
        let (amount, fee) = (got.amount.unwrap(), got.fee.unwrap());
        assert!(fee > 0 && fee <= amount / 100, "fee {fee}");
        assert_eq!(amount, got.nominal_amount);
        assert!(!got.transaction_ids.is_empty());
        expected_balance += amount - fee;
        let t = truth.invoices.iter().find(|t| t.id == inv.id).unwrap();
        assert!(t.credited && t.fee == fee);
    }
    assert_eq!(truth.balance, expected_balance);
    assert_eq!(
        env.client.balance().await.unwrap().value.amount,
        expected_balance
    );

    let credited: Vec<InvoiceLog> = env
        .client
        .list_all("invoice/log", "logs", Query::new().set("types", "credited"))
        .await
        .unwrap();
    assert_eq!(credited.len(), 10);
    for log in &credited {
        assert_eq!(log.subject.status, "paid");
        assert!(log.subject.amount.unwrap() - log.subject.fee.unwrap() > 0);
        let paid: Vec<InvoiceLog> = env
            .client
            .list_all(
                "invoice/log",
                "logs",
                Query::new().set("invoiceIds", &log.subject.id),
            )
            .await
            .unwrap();
        let kinds: Vec<&str> = paid.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(kinds, vec!["credited", "paid", "created"]);
        assert!(paid[0].created > paid[1].created);
    }
    let events: Vec<Event> = env
        .client
        .list_all("event", "events", Query::new().set("isDelivered", false))
        .await
        .unwrap();
    assert_eq!(events.len(), 30);
    assert_eq!(truth.events, 30);
    assert_eq!(truth.undelivered_events, 30);
    assert!(events.iter().all(|e| e.subscription == "invoice"));

    // PATCH isDelivered and DELETE.
    let id = events[0].id.clone();
    env.client.set_event_delivered(&id).await.unwrap();
    assert_eq!(
        env.client.get_event(&id).await.unwrap().is_delivered,
        Some(true)
    );
    let undelivered: Vec<Event> = env
        .client
        .list_all("event", "events", Query::new().set("isDelivered", false))
        .await
        .unwrap();
    assert_eq!(undelivered.len(), 29);
    assert!(undelivered.iter().all(|e| e.id != id));
    env.client.delete_event(&events[1].id).await.unwrap();
    let e = env.client.get_event(&events[1].id).await.unwrap_err();
    assert_eq!(e.codes(), vec!["invalidEvent"]);

    // Unpaid invoices go overdue at due.
    let env2 = api(stark::sandbox::SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    let inv = env2
        .client
        .create_invoices_raw(&invoices_body(1, 100, "late"))
        .await
        .unwrap();
    env2.sb.advance(Duration::days(3));
    assert_eq!(
        env2.client.get_invoice(&inv[0].id).await.unwrap().status,
        "overdue"
    );
    env.sb.shutdown().await;
    env2.sb.shutdown().await;
}

#[tokio::test]
async fn forced_payment_can_make_the_fee_equal_the_amount() {
    let env = api(stark::sandbox::SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    let inv = env
        .client
        .create_invoices_raw(&invoices_body(1, 300, "forced"))
        .await
        .unwrap();
    let (s, v) = env
        .admin(
            Method::POST,
            &format!("invoices/{}/pay", inv[0].id),
            json!({"fee": 300}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let got = env.client.get_invoice(&inv[0].id).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.amount, got.fee),
        ("paid", Some(300), Some(300))
    );
    assert_eq!(env.sb.truth().balance, START_BALANCE);
    let (s, _) = env
        .admin(
            Method::POST,
            &format!("invoices/{}/pay", inv[0].id),
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "cannot pay twice");
}

#[tokio::test]
async fn transfers_settle_against_the_balance_and_external_ids_are_unique() {
    let env = api(stark::sandbox::SandboxConfig {
        transfer_fee: 25,
        ..config()
    })
    .await;
    let created = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(1_000, "ext-1", "T1")]))
        .await
        .unwrap();
    let t = &created[0];
    assert_eq!(
        (t.status.as_str(), t.external_id.as_str()),
        ("created", "ext-1")
    );
    assert_eq!(t.tags, vec!["t1"]);

    // Duplicate externalId, across requests: rejected, nothing created.
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![
            transfer_json(2_000, "ext-2", "t2"),
            transfer_json(2_000, "ext-1", "t2"),
        ]))
        .await
        .unwrap_err();
    let ApiError::Rejected { errors, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "invalidExternalId");
    assert!(errors[0].message.starts_with("Element 1: "));
    // Within one request.
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![
            transfer_json(2_000, "ext-3", "t3"),
            transfer_json(2_000, "ext-3", "t3"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidExternalId"]);
    assert_eq!(env.sb.truth().transfers.len(), 1);
    // ext-2 and ext-3 were not consumed.
    env.client
        .create_transfers_raw(&transfers_body(vec![
            transfer_json(2_000, "ext-2", "t2"),
            transfer_json(3_000, "ext-3", "t3"),
        ]))
        .await
        .unwrap();

    // Bad fields.
    let mut bad = transfer_json(0, "ext-9", "t");
    bad["accountType"] = json!("gold");
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![bad, transfer_json(5, "ext-10", "t")]))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidAmount"]);

    env.sb.advance(Duration::minutes(5));
    let got = env.client.get_transfer(&t.id).await.unwrap();
    assert_eq!(got.status, "success");
    assert_eq!(got.fee, 25);
    assert_eq!(
        env.sb.truth().balance,
        START_BALANCE - (1_000 + 2_000 + 3_000) - 3 * 25
    );
    let logs: Vec<TransferLog> = env
        .client
        .list_all(
            "transfer/log",
            "logs",
            Query::new().set("transferIds", &t.id),
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = logs.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, vec!["success", "processing", "created"]);

    // Insufficient balance → failed.
    let (s, _) = env
        .admin(Method::POST, "balance", json!({"amount": 1_500}))
        .await;
    assert_eq!(s, 200);
    let created = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(1_500, "ext-4", "poor")]))
        .await
        .unwrap();
    env.sb.advance(Duration::minutes(5));
    let got = env.client.get_transfer(&created[0].id).await.unwrap();
    assert_eq!(got.status, "failed", "1500 + 25 fee > 1500");
    assert_eq!(env.sb.truth().balance, 1_500);

    // transfer-fail fault, and the lookup by tag after an ambiguous create.
    env.sb.set_faults(vec![
        FaultRule::parse("transfer-fail=1").unwrap(),
        FaultRule::parse("transfer.create:lost-response=1").unwrap(),
    ]);
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(10, "ext-5", "lookup")]))
        .await
        .unwrap_err();
    assert!(e.is_ambiguous());
    let found: Vec<Transfer> = env
        .client
        .list_all("transfer", "transfers", Query::new().set("tags", "lookup"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].external_id, "ext-5");
    env.sb.advance(Duration::minutes(5));
    assert_eq!(
        env.client.get_transfer(&found[0].id).await.unwrap().status,
        "failed"
    );
    let e = env.client.get_transfer("1").await.unwrap_err();
    assert_eq!(e.codes(), vec!["invalidTransfer"]);

    // Admin settlement.
    env.sb.set_faults(vec![]);
    let created = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(10, "ext-6", "admin")]))
        .await
        .unwrap();
    let (s, v) = env
        .admin(
            Method::POST,
            &format!("transfers/{}/fail", created[0].id),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["transfer"]["status"], "failed");
    env.sb.shutdown().await;
}

#[tokio::test]
async fn odd_inputs_get_errors_not_panics() {
    let env = api(config()).await;
    let odd: Vec<&[u8]> = vec![
        b"",
        b"null",
        b"[]",
        br#"{"invoices": {}}"#,
        br#"{"invoices": [null]}"#,
        br#"{"invoices": [{"amount": 1e400, "taxId": "012.345.678-90", "name": "A"}]}"#,
        br#"{"invoices": [{"amount": 18446744073709551615, "taxId": "012.345.678-90", "name": "A"}]}"#,
        br#"{"invoices": [{"amount": 1, "taxId": "012.345.678-90", "name": "A", "expiration": 9223372036854775807}]}"#,
        br#"{"invoices": [{"amount": 1, "taxId": "012.345.678-90", "name": "A", "due": "+262143-12-31"}]}"#,
        br#"{"invoices": [{"amount": 1, "taxId": 12345678909, "name": "A"}]}"#,
        br#"{"invoices": [{"amount": 1, "taxId": "012.345.678-90", "name": "A", "tags": [1]}]}"#,
        "{\"invoices\": [{\"name\": \"\u{0}\u{ffff}\"}]}".as_bytes(),
    ];
    for body in odd {
        let e = env.client.post_raw("invoice", body).await.unwrap_err();
        assert!(
            matches!(e, ApiError::Rejected { .. }),
            "{}: {e:?}",
            String::from_utf8_lossy(body)
        );
    }
    for (path, q) in [
        ("invoice", Query::new().set("after", "yesterday")),
        ("invoice", Query::new().set("before", "2026-13-45")),
        ("event", Query::new().set("limit", "0")),
        ("transfer/log", Query::new().set("cursor", "c2VxOng")),
    ] {
        let e = env.client.get_value(path, &q).await.unwrap_err();
        assert!(matches!(e, ApiError::Rejected { .. }), "{path}: {e:?}");
    }
    let e = env.client.post_raw("event/1", b"{}").await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 405, .. }), "{e:?}");
    // The far-future due date is accepted and nothing breaks when time moves.
    let body = br#"{"invoices": [{"amount": 1, "taxId": "012.345.678-90", "name": "A", "due": "9999-12-31T23:59:59+00:00", "expiration": 315360000}]}"#;
    env.client.create_invoices_raw(body).await.unwrap();
    env.sb.advance(Duration::days(365));
    env.client.balance().await.unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn the_clock_runs_by_itself_at_speed() {
    // One real second is one business hour: payments (5..15 min) and credits follow alone.
    let env = api(stark::sandbox::SandboxConfig {
        speed: 3600.0,
        ..config()
    })
    .await;
    let before = env.sb.now();
    env.client
        .create_invoices_raw(&invoices_body(5, 1_000, "auto"))
        .await
        .unwrap();
    poll(std::time::Duration::from_secs(10), "credits", || async {
        let t = env.sb.truth();
        t.invoices.iter().all(|i| i.credited).then_some(())
    })
    .await;
    assert!(env.sb.now() - before >= Duration::minutes(6));
    let (s, v) = env.admin(Method::GET, "clock", Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(v["speed"], 3600.0);
    env.sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_are_safe() {
    let env = api(config()).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = env.client.clone();
        tasks.push(tokio::spawn(async move {
            let tag = format!("c{i}");
            client
                .create_invoices_raw(&invoices_body(10, 100, &tag))
                .await
                .unwrap();
            client
                .create_transfers_raw(&transfers_body(vec![transfer_json(
                    10,
                    &format!("same-{}", i % 2),
                    &tag,
                )]))
                .await
                .is_ok()
        }));
    }
    let mut transfers_ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            transfers_ok += 1;
        }
    }
    assert_eq!(transfers_ok, 2, "one transfer per externalId");
    let truth = env.sb.truth();
    assert_eq!(truth.invoices.len(), 200);
    let ids: std::collections::HashSet<_> = truth.invoices.iter().map(|i| &i.id).collect();
    assert_eq!(ids.len(), 200);
    assert_eq!(truth.transfers.len(), 2);
    env.sb.shutdown().await;
}

/// The calls of the money path, in order, summarized without ids (which differ between two
/// banks): counts, amounts, fees, statuses, tags, error codes, balances.
async fn money_path_calls<B: stark::api::Bank>(
    bank: &B,
    advance: impl Fn(Duration),
    set_faults: impl Fn(Vec<FaultRule>),
    truth: impl Fn() -> stark::sandbox::GroundTruth,
) -> Vec<Value> {
    fn sorted(mut v: Vec<Value>) -> Value {
        v.sort_by_key(|x| x.to_string());
        Value::Array(v)
    }
    let invoice = |i: &Invoice| json!([i.amount, i.status, i.tags, i.fee]);
    let transfer = |t: &Transfer| json!([t.amount, t.status, t.tags, t.external_id, t.fee]);
    let mut out = Vec::new();

    let created = bank
        .create_invoices(&invoices_body(3, 10_000, "Agree"))
        .await
        .unwrap();
    out.push(json!({"created": sorted(created.iter().map(invoice).collect())}));
    let ids: Vec<String> = created.iter().map(|i| i.id.clone()).collect();
    let by_tag = bank.invoices_by_tag("agree").await.unwrap();
    out.push(json!({"by tag": sorted(by_tag.iter().map(invoice).collect())}));
    let by_ids = bank.invoices_by_ids(&ids[..2]).await.unwrap();
    out.push(json!({"by ids": sorted(by_ids.iter().map(invoice).collect())}));

    advance(Duration::minutes(20));
    let logs = bank.invoice_credit_logs(&ids).await.unwrap();
    let logs = logs
        .iter()
        .map(|l| json!([l.kind, invoice(&l.subject)]))
        .collect();
    out.push(json!({"credit logs": sorted(logs)}));

    let body = stark::api::model::transfers_body(&[
        transfer_json(1_000, "agree-1", "agree-a").to_string(),
        transfer_json(2_000, "agree-2", "agree-b").to_string(),
    ]);
    let created = bank.create_transfers(body.as_bytes()).await.unwrap();
    out.push(json!({"transfers": sorted(created.iter().map(transfer).collect())}));
    let body = transfers_body(vec![
        transfer_json(300, "agree-3", "agree-c"),
        transfer_json(400, "agree-1", "agree-c"),
    ]);
    let e = bank.create_transfers(&body).await.unwrap_err();
    let ApiError::Rejected { status, errors } = &e else {
        panic!("{e:?}")
    };
    out.push(json!({"rejected": [status, errors]}));
    let by_tags = bank
        .transfers_by_tags(&["agree-a", "agree-b", "agree-c"])
        .await
        .unwrap();
    out.push(json!({"transfers by tags": sorted(by_tags.iter().map(transfer).collect())}));
    advance(Duration::minutes(2));
    let ids: Vec<String> = created.iter().map(|t| t.id.clone()).collect();
    let settled = bank.transfers_by_ids(&ids).await.unwrap();
    out.push(json!({"settled": sorted(settled.iter().map(transfer).collect())}));

    let page = bank.undelivered_events(None).await.unwrap();
    let kinds = page
        .items
        .iter()
        .map(|e| json!([e["subscription"], e["log"]["type"]]))
        .collect();
    out.push(json!({"events": sorted(kinds), "more": page.cursor.is_some()}));
    for e in &page.items[..4] {
        bank.mark_event_delivered(e["id"].as_str().unwrap())
            .await
            .unwrap();
    }
    let page = bank.undelivered_events(None).await.unwrap();
    out.push(json!({"undelivered after marking 4": page.items.len()}));

    set_faults(vec![
        FaultRule::parse("invoice.create:lost-response=1").unwrap(),
        FaultRule::parse("transfer.create:500=1").unwrap(),
    ]);
    let e = bank
        .create_invoices(&invoices_body(2, 700, "lost"))
        .await
        .unwrap_err();
    let found = bank.invoices_by_tag("lost").await.unwrap().len();
    out.push(json!({"lost response": [e.is_ambiguous(), found]}));
    let body = transfers_body(vec![transfer_json(500, "agree-4", "refused")]);
    let e = bank.create_transfers(&body).await.unwrap_err();
    let ApiError::Status { status, .. } = e else {
        panic!("{e:?}")
    };
    let found = bank.transfers_by_tags(&["refused"]).await.unwrap().len();
    out.push(json!({"500": [status, found]}));
    set_faults(Vec::new());

    let t = truth();
    out.push(json!({
        "balance": t.balance,
        "events": t.events,
        "undelivered": t.undelivered_events,
        "invoices": t.invoices.len(),
        "transfers": t.transfers.len(),
    }));
    out
}

/// The same calls through the HTTP client and through the in-memory adapter get the same
/// answers: the adapter runs the emulator itself, not a mock of it.
#[tokio::test]
async fn the_memory_adapter_answers_like_the_http_client() {
    let env = api(config()).await;
    let over_http = money_path_calls(
        &env.client,
        |d| env.sb.advance(d),
        |r| env.sb.set_faults(r),
        || env.sb.truth(),
    )
    .await;
    let memory = stark::sandbox::memory::MemoryBank::from_config(&config());
    let in_memory = money_path_calls(
        &memory,
        |d| memory.advance(d),
        |r| memory.set_faults(r),
        || memory.truth(),
    )
    .await;
    assert_eq!(over_http, in_memory);
    // The answers are not trivially empty.
    assert_eq!(over_http[0]["created"].as_array().unwrap().len(), 3);
    assert_eq!(over_http[3]["credit logs"].as_array().unwrap().len(), 3);
    env.sb.shutdown().await;
}

// --- consistency and timing faults, invoice cancellation --------------------------------------

/// A client that gives up after `ms` (a `late-effect` that hangs is then a timeout).
fn impatient_client(env: &Api, ms: u64) -> stark::api::Client {
    let mut cc = stark::api::ClientConfig::new(env.sb.url(), PROJECT, env.key.clone());
    cc.timeout = std::time::Duration::from_millis(ms);
    cc.retries = 0;
    stark::api::Client::new(cc).unwrap()
}

#[tokio::test]
async fn a_late_effect_is_ambiguous_now_and_applied_exactly_once_later() {
    let env = api(config()).await;
    let client = impatient_client(&env, 750);
    env.sb.set_faults(vec![
        FaultRule::parse("invoice.create:late-effect=1@4000").unwrap(),
    ]);
    let mut answers = Vec::new();
    for round in 0..6 {
        let tag = format!("late-{round}");
        let e = client
            .create_invoices_raw(&invoices_body(3, 500, &tag))
            .await
            .unwrap_err();
        assert!(e.is_ambiguous(), "round {round}: {e:?}");
        answers.push(match e {
            ApiError::Status { status: 504, .. } => "504",
            ApiError::Transport { .. } => "cut",
            ApiError::Timeout(_) => "timeout",
            other => panic!("unexpected {other:?}"),
        });
        // A lookup right away finds nothing.
        let found = env
            .client
            .list_all::<Invoice>("invoice", "invoices", Query::new().set("tags", &tag))
            .await
            .unwrap();
        assert!(found.is_empty(), "round {round}: {found:?}");
    }
    answers.sort();
    answers.dedup();
    // Seeded: this run sees all three (a 504, a cut connection, no answer until the timeout).
    assert_eq!(answers, ["504", "cut", "timeout"]);
    assert!(env.sb.truth().invoices.is_empty());

    env.sb.set_faults(vec![]);
    env.sb.advance(Duration::seconds(3));
    assert!(env.sb.truth().invoices.is_empty(), "not before its time");
    env.sb.advance(Duration::seconds(1));
    for round in 0..6 {
        let found = env
            .client
            .list_all::<Invoice>(
                "invoice",
                "invoices",
                Query::new().set("tags", format!("late-{round}")),
            )
            .await
            .unwrap();
        assert_eq!(found.len(), 3, "round {round}: exactly one copy");
        assert!(
            found
                .iter()
                .all(|i| i.created.0 == t0() + Duration::seconds(4))
        );
    }
    env.sb.advance(Duration::minutes(30));
    let truth = env.sb.truth();
    assert_eq!(truth.invoices.len(), 18, "applied once, not again");
    assert!(truth.invoices.iter().all(|i| i.credited));
    // Held answers end with the sandbox.
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_late_transfer_is_refused_when_its_external_id_exists_by_then() {
    let env = api(config()).await;
    env.sb.set_faults(vec![
        FaultRule::parse("transfer.create:late-effect=1@10000").unwrap(),
    ]);
    let body = transfers_body(vec![transfer_json(1_000, "late-ext", "late-t")]);
    let client = impatient_client(&env, 750);
    let e = client.create_transfers_raw(&body).await.unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    env.sb.set_faults(vec![]);
    let tags = Query::new().set("tags", "late-t");
    let none: Vec<Transfer> = env
        .client
        .list_all("transfer", "transfers", tags.clone())
        .await
        .unwrap();
    assert!(none.is_empty());
    // The resend lands first; the late one is then a duplicate and does nothing.
    env.client.create_transfers_raw(&body).await.unwrap();
    env.sb.advance(Duration::seconds(11));
    let found: Vec<Transfer> = env
        .client
        .list_all("transfer", "transfers", tags)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(env.sb.truth().transfers.len(), 1);
    env.sb.shutdown().await;
}

#[tokio::test]
async fn list_lag_and_partial_lists_come_from_the_admin_api() {
    let env = api(config()).await;
    let (status, v) = env
        .admin(
            Method::POST,
            "faults",
            json!({"rules": ["invoice:list-lag=1@10000"]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["rules"], json!(["invoice:list-lag=1@10000"]));
    let created = env
        .client
        .create_invoices_raw(&invoices_body(4, 500, "lag"))
        .await
        .unwrap();
    let by_tag = Query::new().set("tags", "lag");
    let found: Vec<Invoice> = env
        .client
        .list_all("invoice", "invoices", by_tag.clone())
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    let got = env.client.get_invoice(&created[0].id).await.unwrap();
    assert_eq!(got.id, created[0].id, "gets by id are not affected");
    let (status, _) = env
        .admin(Method::POST, "clock", json!({"advance": "10s"}))
        .await;
    assert_eq!(status, 200);
    let found: Vec<Invoice> = env
        .client
        .list_all("invoice", "invoices", by_tag.clone())
        .await
        .unwrap();
    assert_eq!(found.len(), 4);

    let (status, _) = env
        .admin(
            Method::POST,
            "faults",
            json!({"rules": ["invoice.list:list-partial=1"]}),
        )
        .await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        let found: Vec<Invoice> = env
            .client
            .list_all("invoice", "invoices", by_tag.clone())
            .await
            .unwrap();
        assert!((1..4).contains(&found.len()), "{found:?}");
    }
    let (status, v) = env
        .admin(
            Method::POST,
            "faults",
            json!({"rules": ["invoice.get:list-lag=1"]}),
        )
        .await;
    assert_eq!((status, first_code(&v)), (400, "invalidFault".to_string()));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn injected_request_level_errors_are_400s_that_do_nothing() {
    let env = api(config()).await;
    for (rule, code) in [
        ("invoice.create:invalid-access-time=1", "invalidAccessTime"),
        ("invoice.create:invalid-credentials=1", "invalidCredentials"),
    ] {
        env.sb.set_faults(vec![FaultRule::parse(rule).unwrap()]);
        let e = env
            .client
            .create_invoices_raw(&invoices_body(2, 500, "refused"))
            .await
            .unwrap_err();
        let ApiError::Rejected { status, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*status, 400);
        assert_eq!(e.codes(), vec![code]);
        assert!(!e.is_ambiguous());
        assert!(e.hint().is_some(), "{e}");
    }
    env.sb.set_faults(vec![]);
    env.sb.advance(Duration::hours(1));
    assert!(env.sb.truth().invoices.is_empty());
    assert_eq!(env.sb.truth().events, 0);
    env.client.balance().await.unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_created_invoice_can_be_canceled_and_then_is_never_paid() {
    let env = api(config()).await;
    let created = env
        .client
        .create_invoices_raw(&invoices_body(2, 700, "cancel"))
        .await
        .unwrap();
    let path = format!("/v2/invoice/{}", created[0].id);
    let (status, v) = env
        .signed(Method::PATCH, &path, br#"{"status": "canceled"}"#)
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["invoice"]["status"], "canceled");
    env.sb.advance(Duration::minutes(20));
    let got = env.client.get_invoice(&created[0].id).await.unwrap();
    assert_eq!(got.status, "canceled");
    let truth = env.sb.truth();
    let t = |id: &str| truth.invoices.iter().find(|i| i.id == id).unwrap().clone();
    assert!(!t(&created[0].id).credited);
    assert!(t(&created[1].id).credited, "the other one is paid as usual");
    let logs: Vec<InvoiceLog> = env
        .client
        .list_all(
            "invoice/log",
            "logs",
            Query::new()
                .set("invoiceIds", &created[0].id)
                .set("types", "canceled"),
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].subject.status, "canceled");
    let (status, v) = env
        .signed(Method::PATCH, &path, br#"{"status": "canceled"}"#)
        .await;
    assert_eq!(
        (status, first_code(&v)),
        (400, "invalidInvoiceStatus".into())
    );
    let paid = format!("/v2/invoice/{}", created[1].id);
    let (status, v) = env
        .signed(Method::PATCH, &paid, br#"{"status": "canceled"}"#)
        .await;
    assert_eq!(
        (status, first_code(&v)),
        (400, "invalidInvoiceStatus".into())
    );
    let (status, v) = env
        .admin(
            Method::POST,
            &format!("invoices/{}/pay", created[0].id),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, first_code(&v)),
        (400, "invalidInvoiceStatus".into())
    );
    env.sb.shutdown().await;
}

// --- what the official SDKs send (issue 14) -----------------------------------------------

/// The `(code, message)` of every error of a rejected call.
fn rejections(e: &ApiError) -> Vec<(String, String)> {
    let ApiError::Rejected { errors, .. } = e else {
        panic!("expected a 400 with errors: {e:?}")
    };
    errors
        .iter()
        .map(|x| (x.code.clone(), x.message.clone()))
        .collect()
}

#[tokio::test]
async fn booleans_in_either_case_filter_events() {
    let env = api(config()).await;
    env.client
        .create_invoices_raw(&invoices_body(2, 100, "b"))
        .await
        .unwrap();
    let (_, all) = env.signed(Method::GET, "/v2/event", b"").await;
    let first = all["events"][0]["id"].as_str().unwrap().to_string();
    env.client.set_event_delivered(&first).await.unwrap();
    let ids = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The official Python SDK sends Python's `str(bool)`.
    for (value, delivered) in [
        ("False", false),
        ("True", true),
        ("false", false),
        ("true", true),
        ("TRUE", true),
    ] {
        let (status, v) = env
            .signed(Method::GET, &format!("/v2/event?isDelivered={value}"), b"")
            .await;
        assert_eq!(status, 200, "isDelivered={value}: {v}");
        let got = ids(&v);
        assert_eq!(got.contains(&first), delivered, "isDelivered={value}: {v}");
        assert_eq!(got.len(), 1, "isDelivered={value}: {v}");
    }
    let (status, v) = env
        .signed(Method::GET, "/v2/event?isDelivered=yes", b"")
        .await;
    assert_eq!(
        (status, first_code(&v).as_str()),
        (400, "invalidIsDelivered")
    );
    env.sb.shutdown().await;
}

#[tokio::test]
async fn the_public_key_answers_without_credentials_and_at_a_double_slash() {
    let env = api(config()).await;
    let pem = env.sb.public_key().to_pem();
    for path in ["/v2/public-key", "/v2//public-key"] {
        // No Access-* headers at all: what the SDKs' public user sends.
        let resp = env
            .http
            .get(format!("{}{path}?limit=1", env.sb.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(v["publicKeys"][0]["content"], json!(pem), "{path}");
        // Signed, as a project sends it.
        let (status, v) = env.signed(Method::GET, path, b"").await;
        assert_eq!(status, 200, "{path}: {v}");
    }
    // Only the public key: anything else without credentials is refused.
    let resp = env
        .http
        .get(format!("{}/v2/invoice", env.sb.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(first_code(&v), "invalidCredentials");
    // Credentials that are sent are checked, even for the public key.
    let (status, v) = env
        .raw(
            Method::GET,
            "/v2/public-key",
            &format!("project/{PROJECT}"),
            &stark::api::auth::wall_clock_seconds(),
            b"x",
            b"",
        )
        .await;
    assert_eq!(
        (status, first_code(&v).as_str()),
        (400, "invalidCredentials")
    );
    // Fractional Access-Time (Python's `str(time())`) and an absent `limit`.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (status, v) = env
        .raw(
            Method::GET,
            "/v2/invoice",
            &format!("project/{PROJECT}"),
            &format!("{now:.6}"),
            b"",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["invoices"], json!([]));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn an_unknown_field_in_an_element_is_an_error_for_that_element() {
    let env = api(config()).await;
    let body = serde_json::to_vec(&json!({"invoices": [
        {"amount": 100, "taxId": "012.345.678-90", "name": "A"},
        {"amount": 100, "taxId": "012.345.678-90", "name": "B", "colour": "red"},
    ]}))
    .unwrap();
    let e = env.client.create_invoices_raw(&body).await.unwrap_err();
    let errors = rejections(&e);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "invalidJson");
    assert!(
        errors[0].1.starts_with("Element 1: ") && errors[0].1.contains("`colour`"),
        "{errors:?}"
    );
    let mut bad = transfer_json(100, "ext-u", "t");
    bad["colour"] = json!("red");
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(100, "ext-v", "t"), bad]))
        .await
        .unwrap_err();
    let errors = rejections(&e);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "invalidJson");
    assert!(errors[0].1.starts_with("Element 1: "), "{errors:?}");
    let truth = env.sb.truth();
    assert!(truth.invoices.is_empty() && truth.transfers.is_empty());
    // Every field the official SDKs send is known.
    let full = json!({"invoices": [{
        "amount": 100, "taxId": "012.345.678-90", "name": "A", "due": "2026-03-10",
        "expiration": 3600, "fine": 2.5, "interest": 1.3, "tags": ["x"],
        "discounts": [{"percentage": 5, "due": "2026-03-05T00:00:00+00:00"}],
        "descriptions": [{"key": "k", "value": "v"}], "rules": [], "splits": [],
    }]});
    env.client
        .create_invoices_raw(&serde_json::to_vec(&full).unwrap())
        .await
        .unwrap();
    let mut t = transfer_json(100, "ext-w", "t");
    for (k, v) in [
        ("description", json!("d")),
        ("displayDescription", json!("d")),
        ("scheduled", json!("2026-03-03")),
        ("rules", json!([{"key": "resendingLimit", "value": 5}])),
        ("metadata", json!({})),
    ] {
        t[k] = v;
    }
    env.client
        .create_transfers_raw(&transfers_body(vec![t]))
        .await
        .unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn amounts_of_ten_to_the_fifteen_cents_are_refused() {
    let env = api(config()).await;
    let limit: i64 = 1_000_000_000_000_000;
    let body = |amount: i64| {
        serde_json::to_vec(
            &json!({"invoices": [{"amount": amount, "taxId": "012.345.678-90", "name": "A"}]}),
        )
        .unwrap()
    };
    let e = env
        .client
        .create_invoices_raw(&body(limit))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidAmount"]);
    let e = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(limit, "ext-big", "t")]))
        .await
        .unwrap_err();
    assert_eq!(e.codes(), vec!["invalidAmount"]);
    assert!(env.sb.truth().transfers.is_empty());
    env.client
        .create_invoices_raw(&body(limit - 1))
        .await
        .unwrap();
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_transfer_scheduled_in_the_past_is_refused() {
    let env = api(config()).await;
    // Business time is t0() = 2026-03-02T00:00:00Z.
    for past in ["2026-03-01T23:59:59+00:00", "2026-02-27"] {
        let mut t = transfer_json(100, "ext-past", "t");
        t["scheduled"] = json!(past);
        let e = env
            .client
            .create_transfers_raw(&transfers_body(vec![t]))
            .await
            .unwrap_err();
        let errors = rejections(&e);
        assert_eq!(errors.len(), 1, "{past}: {errors:?}");
        assert_eq!(errors[0].0, "invalidScheduled", "{past}");
        assert!(errors[0].1.starts_with("Element 0: "), "{errors:?}");
    }
    assert!(env.sb.truth().transfers.is_empty());
    // Today (a date means the end of that day) and later are fine.
    for (i, when) in ["2026-03-02", "2026-03-02T00:00:01+00:00", "2026-03-09"]
        .into_iter()
        .enumerate()
    {
        let mut t = transfer_json(100, &format!("ext-ok-{i}"), "t");
        t["scheduled"] = json!(when);
        env.client
            .create_transfers_raw(&transfers_body(vec![t]))
            .await
            .unwrap();
    }
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_transfer_missing_a_required_field_is_invalid_json_for_that_element() {
    let env = api(config()).await;
    for field in [
        "amount",
        "name",
        "taxId",
        "bankCode",
        "branchCode",
        "accountNumber",
    ] {
        let mut t = transfer_json(100, "ext-m", "t");
        t.as_object_mut().unwrap().remove(field);
        let e = env
            .client
            .create_transfers_raw(&transfers_body(vec![transfer_json(100, "ext-n", "t"), t]))
            .await
            .unwrap_err();
        let errors = rejections(&e);
        assert_eq!(errors.len(), 1, "{field}: {errors:?}");
        assert_eq!(errors[0].0, "invalidJson", "{field}: {errors:?}");
        assert!(
            errors[0].1.starts_with("Element 1: ") && errors[0].1.contains(field),
            "{field}: {errors:?}"
        );
    }
    assert!(env.sb.truth().transfers.is_empty());
    env.sb.shutdown().await;
}

#[tokio::test]
async fn an_event_cannot_be_marked_undelivered() {
    let env = api(config()).await;
    env.client
        .create_invoices_raw(&invoices_body(1, 100, "e"))
        .await
        .unwrap();
    let (_, all) = env.signed(Method::GET, "/v2/event", b"").await;
    let id = all["events"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v2/event/{id}");
    env.client.set_event_delivered(&id).await.unwrap();
    let (status, v) = env
        .signed(Method::PATCH, &path, br#"{"isDelivered": false}"#)
        .await;
    assert_eq!(
        (status, first_code(&v).as_str()),
        (400, "invalidIsDelivered"),
        "{v}"
    );
    let (status, v) = env
        .signed(
            Method::PATCH,
            &path,
            br#"{"isDelivered": true, "colour": 1}"#,
        )
        .await;
    assert_eq!(
        (status, first_code(&v).as_str()),
        (400, "invalidJson"),
        "{v}"
    );
    let (_, v) = env.signed(Method::GET, &path, b"").await;
    assert_eq!(v["event"]["isDelivered"], json!(true), "{v}");
    env.sb.shutdown().await;
}

#[tokio::test]
async fn transfers_filter_by_tax_id_and_sort_oldest_first_as_the_sdk_asks() {
    let env = api(config()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut t = transfer_json(100 + i, &format!("ext-s{i}"), "s");
        if i == 1 {
            t["taxId"] = json!("012.345.678-90");
        }
        let created = env
            .client
            .create_transfers_raw(&transfers_body(vec![t]))
            .await
            .unwrap();
        ids.push(created[0].id.clone());
    }
    let list_ids = |v: &Value| -> Vec<String> {
        v["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    for tax_id in ["01234567890", "012.345.678-90"] {
        let (status, v) = env
            .signed(Method::GET, &format!("/v2/transfer?taxId={tax_id}"), b"")
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(list_ids(&v), vec![ids[1].clone()], "{tax_id}: {v}");
    }
    // Oldest first, page by page.
    let (_, v) = env
        .signed(Method::GET, "/v2/transfer?sort=created&limit=2", b"")
        .await;
    assert_eq!(list_ids(&v), ids[..2].to_vec(), "{v}");
    let cursor = v["cursor"].as_str().unwrap().to_string();
    let (_, v) = env
        .signed(
            Method::GET,
            &format!("/v2/transfer?sort=created&limit=2&cursor={cursor}"),
            b"",
        )
        .await;
    assert_eq!(list_ids(&v), ids[2..].to_vec(), "{v}");
    assert_eq!(v["cursor"], Value::Null);
    let (_, v) = env
        .signed(Method::GET, "/v2/transfer?sort=-created", b"")
        .await;
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(list_ids(&v), newest_first);
    let (status, v) = env
        .signed(Method::GET, "/v2/transfer?sort=amount", b"")
        .await;
    assert_eq!((status, first_code(&v).as_str()), (400, "invalidSort"));
    env.sb.shutdown().await;
}
