//! The rest of the emulated resources' surface, as the official SDKs use it: invoice update,
//! QR code, PDFs and payment; transfer DELETE, rules, PDF and `scheduled`; bank codes;
//! webhook subscriptions; and money like a fresh real sandbox (balance zero, the transfer fee
//! on top of the forwarded amount).

use crate::harness::*;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use stark::api::Query;
use stark::api::auth::{sign_request, wall_clock_seconds};
use stark::api::model::{InvoiceLog, TransferLog};
use stark::sandbox::SandboxConfig;

/// A signed GET whose answer may be a file: (status, content type, body bytes).
async fn get_bytes(env: &Api, path: &str) -> (u16, String, Vec<u8>) {
    let h = sign_request(
        &env.key,
        &format!("project/{PROJECT}"),
        &wall_clock_seconds(),
        b"",
    );
    let resp = env
        .http
        .get(format!("{}{}", env.sb.url(), path))
        .header("Access-Id", h.access_id)
        .header("Access-Time", h.access_time)
        .header("Access-Signature", h.access_signature)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

fn code_of(bytes: &[u8]) -> String {
    first_code(&serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null))
}

fn assert_pdf(status: u16, ct: &str, bytes: &[u8]) {
    assert_eq!(
        (status, ct),
        (200, "application/pdf"),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    assert!(bytes.starts_with(b"%PDF-"), "starts with %PDF");
    assert!(bytes.ends_with(b"%%EOF\n"), "ends with %%EOF");
    // The cross-reference table is where `startxref` says.
    let s = String::from_utf8_lossy(bytes);
    let at: usize = s
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        s[at..].starts_with("xref\n"),
        "startxref points at the xref table"
    );
}

async fn one_invoice(env: &Api, amount: i64, tag: &str) -> stark::api::model::Invoice {
    env.client
        .create_invoices_raw(&invoices_body(1, amount, tag))
        .await
        .unwrap()
        .remove(0)
}

#[tokio::test]
async fn invoice_update_changes_amount_due_and_expiration_while_created() {
    let env = api(SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    let inv = one_invoice(&env, 1_000, "upd").await;
    let path = format!("/v2/invoice/{}", inv.id);
    let (s, v) = env
        .signed(Method::PATCH, &path, br#"{"amount": 777}"#)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invoice"]["amount"], 777);
    assert_eq!(v["invoice"]["nominalAmount"], 777);
    assert_eq!(v["invoice"]["status"], "created");
    // Due moved a week out (the default was two days): not overdue after two days.
    let due = (env.sb.now() + Duration::days(7))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let body = json!({"due": due, "expiration": 3_600}).to_string();
    let (s, v) = env.signed(Method::PATCH, &path, body.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invoice"]["expiration"], 3_600);
    let logs: Vec<InvoiceLog> = env
        .client
        .list_all(
            "invoice/log",
            "logs",
            Query::new().set("invoiceIds", &inv.id),
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = logs.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, vec!["updated", "updated", "created"]);
    assert_eq!(logs[1].subject.nominal_amount, 777);
    env.sb.advance(Duration::days(3));
    assert_eq!(
        env.client.get_invoice(&inv.id).await.unwrap().status,
        "created"
    );
    env.sb.advance(Duration::days(4) + Duration::minutes(1));
    assert_eq!(
        env.client.get_invoice(&inv.id).await.unwrap().status,
        "overdue"
    );
    // Expired an hour after the new due, not 59 days after.
    env.sb.advance(Duration::hours(1));
    assert_eq!(
        env.client.get_invoice(&inv.id).await.unwrap().status,
        "expired"
    );

    // The real errors; nothing changes.
    let fresh = one_invoice(&env, 500, "upd2").await;
    let fresh_path = format!("/v2/invoice/{}", fresh.id);
    let past = (env.sb.now() - Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    for (body, code) in [
        (json!({"amount": -1}), "invalidAmount"),
        (json!({"amount": 1_000_000_000_000_000i64}), "invalidAmount"),
        (json!({"due": past}), "invalidDue"),
        (json!({"expiration": "soon"}), "invalidExpiration"),
        (json!({"fine": 3}), "invalidJson"),
        (json!({"status": "canceled", "amount": 5}), "invalidJson"),
    ] {
        let (s, v) = env
            .signed(Method::PATCH, &fresh_path, body.to_string().as_bytes())
            .await;
        assert_eq!((s, first_code(&v)), (400, code.to_string()), "{body}");
    }
    assert_eq!(
        env.client.get_invoice(&fresh.id).await.unwrap().amount,
        Some(500)
    );
    // Only while created.
    let (s, v) = env.signed(Method::PATCH, &path, br#"{"amount": 5}"#).await;
    assert_eq!((s, first_code(&v)), (400, "invalidInvoiceStatus".into()));
    let (s, v) = env
        .signed(
            Method::PATCH,
            "/v2/invoice/1234567890123456",
            br#"{"amount": 5}"#,
        )
        .await;
    assert_eq!((s, first_code(&v)), (400, "invalidInvoice".into()));
    env.sb.shutdown().await;
}

/// Read a PNG's signature and IHDR (checking its CRC): (width, height, bit depth, color type).
fn png_header(png: &[u8]) -> (u32, u32, u8, u8) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[8..16], b"\x00\x00\x00\x0dIHDR", "IHDR first");
    let data = &png[16..29];
    let crc = u32::from_be_bytes(png[29..33].try_into().unwrap());
    let mut c = 0xffff_ffffu32;
    for &b in &png[12..29] {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    assert_eq!(crc, !c, "IHDR crc");
    assert!(
        png.ends_with(b"\x00\x00\x00\x00IEND\xae\x42\x60\x82"),
        "IEND last"
    );
    let w = u32::from_be_bytes(data[0..4].try_into().unwrap());
    let h = u32::from_be_bytes(data[4..8].try_into().unwrap());
    (w, h, data[8], data[9])
}

#[tokio::test]
async fn the_invoice_qrcode_is_a_png_of_its_brcode() {
    let env = api(config()).await;
    let inv = one_invoice(&env, 1_000, "qr").await;
    for (query, size) in [("", 7u32), ("?size=3", 3), ("?size=50", 50)] {
        let (s, ct, png) = get_bytes(&env, &format!("/v2/invoice/{}/qrcode{query}", inv.id)).await;
        assert_eq!(
            (s, ct.as_str()),
            (200, "image/png"),
            "{}",
            String::from_utf8_lossy(&png)
        );
        let (w, h, depth, color) = png_header(&png);
        assert_eq!((w, depth, color), (h, 1, 0), "square, 1-bit grayscale");
        assert_eq!(w % size, 0, "{size} pixels per module");
        // A QR code of version v has 17 + 4v modules, plus a quiet zone of 4 on each side.
        let modules = w / size - 8;
        assert!(
            modules >= 21 && (modules - 17) % 4 == 0,
            "{modules} modules"
        );
    }
    for q in ["0", "51", "x"] {
        let (s, _, body) =
            get_bytes(&env, &format!("/v2/invoice/{}/qrcode?size={q}", inv.id)).await;
        assert_eq!((s, code_of(&body)), (400, "invalidSize".into()), "size={q}");
    }
    let (s, _, body) = get_bytes(&env, "/v2/invoice/1234567890123456/qrcode").await;
    assert_eq!((s, code_of(&body)), (400, "invalidInvoice".into()));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn invoice_pdf_payment_and_log_pdf() {
    let env = api(config()).await;
    let inv = one_invoice(&env, 2_500, "pdf").await;
    let (s, ct, pdf) = get_bytes(&env, &format!("/v2/invoice/{}/pdf", inv.id)).await;
    assert_pdf(s, &ct, &pdf);
    let (s, _, body) = get_bytes(&env, "/v2/invoice/1234567890123456/pdf").await;
    assert_eq!((s, code_of(&body)), (400, "invalidInvoice".into()));

    // Not paid yet: no payment, and its `created` log has no receipt.
    let payment = format!("/v2/invoice/{}/payment", inv.id);
    let (s, v) = env.signed(Method::GET, &payment, b"").await;
    assert_eq!((s, first_code(&v)), (400, "invalidInvoiceStatus".into()));
    let created_log: Vec<InvoiceLog> = env
        .client
        .list_all(
            "invoice/log",
            "logs",
            Query::new().set("invoiceIds", &inv.id),
        )
        .await
        .unwrap();
    let (s, _, body) = get_bytes(&env, &format!("/v2/invoice/log/{}/pdf", created_log[0].id)).await;
    assert_eq!((s, code_of(&body)), (400, "invalidInvoiceLog".into()));

    env.sb.advance(Duration::hours(1));
    let paid = env.client.get_invoice(&inv.id).await.unwrap();
    assert_eq!(paid.status, "paid");
    let (s, v) = env.signed(Method::GET, &payment, b"").await;
    assert_eq!(s, 200, "{v}");
    let p = &v["payment"];
    assert_eq!(p["amount"], json!(paid.amount.unwrap()));
    assert_eq!(
        (p["name"].as_str(), p["taxId"].as_str()),
        (Some(paid.name.as_str()), Some(paid.tax_id.as_str()))
    );
    assert_eq!(p["method"], "pix");
    assert_eq!(p["endToEndId"].as_str().map(str::len), Some(32), "{p}");
    for key in ["bankCode", "branchCode", "accountNumber", "accountType"] {
        assert!(p[key].is_string(), "{key}: {p}");
    }
    let credited: Vec<InvoiceLog> = env
        .client
        .list_all(
            "invoice/log",
            "logs",
            Query::new()
                .set("invoiceIds", &inv.id)
                .set("types", "credited"),
        )
        .await
        .unwrap();
    let (s, ct, pdf) = get_bytes(&env, &format!("/v2/invoice/log/{}/pdf", credited[0].id)).await;
    assert_pdf(s, &ct, &pdf);
    let (s, _, body) = get_bytes(&env, "/v2/invoice/log/1234567890123456/pdf").await;
    assert_eq!((s, code_of(&body)), (400, "invalidInvoiceLog".into()));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_scheduled_transfer_waits_for_its_time_and_delete_cancels_it() {
    let env = api(config()).await;
    let at = env.sb.now() + Duration::days(1);
    let when = at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let mut a = transfer_json(1_000, "sched-a", "sched");
    a["scheduled"] = json!(when);
    let mut b = transfer_json(2_000, "sched-b", "sched");
    b["scheduled"] = json!(when);
    let created = env
        .client
        .create_transfers_raw(&transfers_body(vec![a, b]))
        .await
        .unwrap();
    let balance = env.sb.truth().balance;
    env.sb.advance(Duration::hours(23));
    for t in &created {
        assert_eq!(
            env.client.get_transfer(&t.id).await.unwrap().status,
            "created"
        );
    }
    // PDF: only processing or success.
    let (s, _, body) = get_bytes(&env, &format!("/v2/transfer/{}/pdf", created[0].id)).await;
    assert_eq!((s, code_of(&body)), (400, "invalidTransferStatus".into()));

    let path = format!("/v2/transfer/{}", created[1].id);
    let (s, v) = env.signed(Method::DELETE, &path, b"").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["transfer"]["status"], "canceled");
    let (s, v) = env.signed(Method::DELETE, &path, b"").await;
    assert_eq!((s, first_code(&v)), (400, "invalidTransferStatus".into()));
    let (s, v) = env
        .signed(Method::DELETE, "/v2/transfer/1234567890123456", b"")
        .await;
    assert_eq!((s, first_code(&v)), (400, "invalidTransfer".into()));

    env.sb.advance(Duration::hours(2));
    assert_eq!(
        env.client
            .get_transfer(&created[0].id)
            .await
            .unwrap()
            .status,
        "success"
    );
    assert_eq!(
        env.client
            .get_transfer(&created[1].id)
            .await
            .unwrap()
            .status,
        "canceled"
    );
    assert_eq!(
        env.sb.truth().balance,
        balance - 1_000,
        "only the one that ran is debited"
    );
    let logs: Vec<TransferLog> = env
        .client
        .list_all(
            "transfer/log",
            "logs",
            Query::new().set("transferIds", &created[0].id),
        )
        .await
        .unwrap();
    assert!(
        logs.iter()
            .all(|l| l.created.0 >= at || l.kind == "created"),
        "it ran at its time"
    );
    let logs: Vec<TransferLog> = env
        .client
        .list_all(
            "transfer/log",
            "logs",
            Query::new().set("transferIds", &created[1].id),
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = logs.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, vec!["canceled", "created"]);
    // Done: too late to cancel; the receipt is there.
    let (s, v) = env
        .signed(
            Method::DELETE,
            &format!("/v2/transfer/{}", created[0].id),
            b"",
        )
        .await;
    assert_eq!((s, first_code(&v)), (400, "invalidTransferStatus".into()));
    let (s, ct, pdf) = get_bytes(&env, &format!("/v2/transfer/{}/pdf", created[0].id)).await;
    assert_pdf(s, &ct, &pdf);
    env.sb.shutdown().await;
}

#[tokio::test]
async fn transfer_rules_are_stored_and_returned() {
    let env = api(config()).await;
    let mut t = transfer_json(1_000, "rules-1", "rules");
    t["rules"] = json!([{"key": "resendingLimit", "value": 5}]);
    let (s, v) = env
        .signed(Method::POST, "/v2/transfer", &transfers_body(vec![t]))
        .await;
    assert_eq!(s, 200, "{v}");
    let rule = json!([{"key": "resendingLimit", "value": 5}]);
    assert_eq!(v["transfers"][0]["rules"], rule);
    let id = v["transfers"][0]["id"].as_str().unwrap().to_string();
    let (_, got) = env
        .signed(Method::GET, &format!("/v2/transfer/{id}"), b"")
        .await;
    assert_eq!(got["transfer"]["rules"], rule);
    let mut bad = transfer_json(1_000, "rules-2", "rules");
    bad["rules"] = json!([{"key": "resendingLimit", "value": -1}]);
    let (s, v) = env
        .signed(Method::POST, "/v2/transfer", &transfers_body(vec![bad]))
        .await;
    assert_eq!((s, first_code(&v)), (400, "invalidRule".into()));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn bank_codes_of_one_to_three_digits_or_an_ispb() {
    let env = api(config()).await;
    for (i, code) in ["1", "33", "341", "20018183"].into_iter().enumerate() {
        let mut t = transfer_json(100, &format!("bank-{i}"), "banks");
        t["bankCode"] = json!(code);
        let (s, v) = env
            .signed(Method::POST, "/v2/transfer", &transfers_body(vec![t]))
            .await;
        assert_eq!(s, 200, "{code}: {v}");
    }
    for (i, code) in ["1234", "1234567", "123456789", "", "34a"]
        .into_iter()
        .enumerate()
    {
        let mut t = transfer_json(100, &format!("badbank-{i}"), "banks");
        t["bankCode"] = json!(code);
        let (s, v) = env
            .signed(Method::POST, "/v2/transfer", &transfers_body(vec![t]))
            .await;
        assert_eq!(
            (s, first_code(&v)),
            (400, "invalidBankCode".into()),
            "{code:?}"
        );
    }
    env.sb.shutdown().await;
}

#[tokio::test]
async fn every_documented_webhook_subscription_is_accepted() {
    let env = api(config()).await;
    // The Python SDK's event parser and the SDK README.
    let subs = [
        "transfer",
        "invoice",
        "deposit",
        "boleto",
        "brcode-payment",
        "boleto-payment",
        "utility-payment",
        "darf-payment",
        "tax-payment",
        "holmes",
        "boleto-holmes",
        "invoice-pull-request",
        "invoice-pull-subscription",
    ];
    let body = json!({"url": "https://hooks.example.com/stark", "subscriptions": subs});
    let (s, v) = env
        .signed(Method::POST, "/v2/webhook", body.to_string().as_bytes())
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["webhook"]["subscriptions"], json!(subs));
    env.sb.shutdown().await;
}

#[tokio::test]
async fn a_fresh_sandbox_starts_at_zero_and_start_balance_changes_it() {
    assert_eq!(SandboxConfig::default().start_balance, 0);
    let env = api(SandboxConfig {
        start_balance: 0,
        ..config()
    })
    .await;
    assert_eq!(env.client.balance().await.unwrap().value.amount, 0);
    // With nothing credited, a transfer fails: the bank refunds nothing and debits nothing.
    let t = env
        .client
        .create_transfers_raw(&transfers_body(vec![transfer_json(100, "poor-1", "poor")]))
        .await
        .unwrap()
        .remove(0);
    env.sb.advance(Duration::minutes(5));
    assert_eq!(
        env.client.get_transfer(&t.id).await.unwrap().status,
        "failed"
    );
    let logs: Vec<TransferLog> = env
        .client
        .list_all(
            "transfer/log",
            "logs",
            Query::new()
                .set("transferIds", &t.id)
                .set("types", "failed"),
        )
        .await
        .unwrap();
    assert_eq!(logs[0].errors, vec![json!("Insufficient balance")]);
    assert_eq!(env.sb.truth().balance, 0);
    env.sb.shutdown().await;

    let env = api(SandboxConfig {
        start_balance: 12_345,
        ..config()
    })
    .await;
    assert_eq!(env.client.balance().await.unwrap().value.amount, 12_345);
    env.sb.shutdown().await;
}

/// The product rule with a transfer fee: each credit forwards `amount - invoice fee`, and the
/// bank charges its transfer fee on top, from the balance. A fresh sandbox's balance holds only
/// the credits, so it cannot cover every transfer plus its fee: the bank fails the transfers it
/// cannot cover (status `failed`, log errors `["Insufficient balance"]`, nothing debited), and
/// the operator sees each failed attempt under `attention.failed_transfers` in `stark status`.
#[test]
fn with_a_transfer_fee_the_bank_charges_it_on_top_and_fails_what_the_balance_cannot_cover() {
    let env = Env::new(|c| {
        c.pay_rate = 1.0;
        c.start_balance = 0;
        c.transfer_fee = 50;
    });
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    let _ = env.at_now().run(["reconcile"]);
    for _ in 0..3 {
        env.advance(Duration::minutes(30));
        let _ = env.at_now().run(["reconcile"]);
    }
    let truth = env.truth();
    let net: i64 = truth
        .invoices
        .iter()
        .filter(|i| i.credited)
        .map(|i| i.amount - i.fee)
        .sum();
    assert!(
        net > 0 && truth.invoices.iter().any(|i| i.fee > 0),
        "credits with fees"
    );
    // What was forwarded: amount - invoice fee, never less the transfer fee.
    for t in &truth.transfers {
        let invoice = t.tags[0].strip_prefix("stark-invoice-").unwrap();
        let inv = truth.invoices.iter().find(|i| i.id == invoice).unwrap();
        assert_eq!(t.amount, inv.amount - inv.fee, "transfer {}", t.id);
    }
    // What the bank did: each success debited amount + 50; the rest failed, debiting nothing.
    let ok: Vec<_> = truth
        .transfers
        .iter()
        .filter(|t| t.status == "success")
        .collect();
    let failed: Vec<_> = truth
        .transfers
        .iter()
        .filter(|t| t.status == "failed")
        .collect();
    assert!(
        !failed.is_empty(),
        "the balance cannot cover every transfer plus its fee"
    );
    assert!(ok.iter().all(|t| t.fee == 50));
    let debited: i64 = ok.iter().map(|t| t.amount + 50).sum();
    assert_eq!(truth.balance, net - debited);
    assert!(truth.balance >= 0);
    // What the operator sees: every failed attempt, under attention.
    let out = env.at_now().run(["status", "--json"]);
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let group = &report["attention"]["failed_transfers"];
    assert!(group["total"].as_i64().unwrap() >= 1, "{report}");
    let listed: Vec<&str> = group["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap())
        .collect();
    for t in &failed {
        assert!(listed.contains(&t.external_id.as_str()), "{t:?} in {group}");
    }
}
