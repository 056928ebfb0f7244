//! Load-test helpers and batching, asserted by counts (timings live in `benches/`).

use crate::harness::*;
use serde_json::json;

/// `POST /_sandbox/generate` makes invoices with their logs and events in one call.
#[test]
fn sandbox_generate_makes_credited_invoices_and_their_events() {
    let env = Env::new(|_| {});
    let r = env.admin(
        "POST",
        "/_sandbox/generate",
        json!({"invoices": 5, "tags": ["Load-Test"], "amount": 2500}),
    );
    assert_eq!(r["generated"], 5);
    assert_eq!(r["events"], 15, "created, paid and credited per invoice");
    let ids: Vec<&str> = r["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let truth = env.truth();
    assert_eq!(truth.invoices.len(), 5);
    assert_eq!(truth.events, 15);
    assert_eq!(truth.undelivered_events, 15);
    for inv in &truth.invoices {
        assert!(ids.contains(&inv.id.as_str()));
        assert_eq!(inv.status, "paid");
        assert!(inv.credited);
        assert_eq!(inv.nominal_amount, 2500);
        assert_eq!(inv.tags, vec!["load-test"]);
    }
    // Not credited: only the invoices and their `created` events.
    let r = env.admin(
        "POST",
        "/_sandbox/generate",
        json!({"invoices": 2, "credited": false}),
    );
    assert_eq!(r["events"], 2);
    let truth = env.truth();
    assert_eq!(truth.invoices.iter().filter(|i| !i.credited).count(), 2);
    // Bad input is a 400 with the API's error shape.
    let resp = env.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/_sandbox/generate", env.url))
            .body(r#"{"invoices": 0}"#)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(resp.status(), 400);
}

/// 1,000 credits waiting: `transfer-credited` sends them in at most 10 create requests
/// (100 transfers each, the API's maximum).
#[test]
fn a_thousand_pending_credits_go_out_in_ten_requests() {
    let env = Env::new(|_| {});
    let r = env.admin(
        "POST",
        "/_sandbox/generate",
        json!({"invoices": 1000, "tags": ["stark-scale-c1-b1"], "amount": 10000}),
    );
    let invoices = r["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1000);
    // The ledger issued them and has recorded their credits (one statement per table).
    let mut rows = Vec::new();
    let mut credits = Vec::new();
    for (i, inv) in invoices.iter().enumerate() {
        let (id, amount, fee) = (
            inv["id"].as_str().unwrap(),
            inv["amount"].as_i64().unwrap(),
            inv["fee"].as_i64().unwrap(),
        );
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        rows.push(format!(
            "(1, 1, {i}, 'Cliente', '{i:011}', {amount}, '{id}', 'paid', 'x')"
        ));
        credits.push(format!(
            "('{id}', 'log', {amount}, {fee}, {}, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', 'sweep')",
            amount - fee
        ));
    }
    env.sql_batch(&format!(
        "INSERT INTO campaigns(id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount, created_at)
           VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, '2026-03-02T00:00:00Z');
         INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
           VALUES (1, 1, 0, 'stark-scale-c1-b1', 'issued', 1000, 10000000, '2026-03-02T00:00:00Z', 'x', 'x');
         INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
           VALUES {};
         INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
           VALUES {};",
        rows.join(", "),
        credits.join(", ")
    ));
    assert_eq!(env.sql_i64("SELECT COUNT(*) FROM credits"), 1000);

    let report = env
        .at_now()
        .run(["transfer-credited", "--json"])
        .success()
        .json();
    assert_eq!(report["claimed"], 1000, "{report}");
    assert_eq!(report["sent"], 1000, "{report}");
    assert!(report["requests"].as_u64().unwrap() <= 10, "{report}");
    let truth = env.truth();
    assert_eq!(truth.transfers.len(), 1000);
}
