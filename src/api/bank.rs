//! The `Bank` port: the calls the use cases (`issuer`, `payout`, `reconcile`) make to Stark
//! Bank, typed. No path, envelope key or query-parameter name exists outside `src/api/`.
//!
//! [`Client`] implements it over HTTP; the emulator's in-memory adapter
//! ([`MemoryBank`](crate::sandbox::memory::MemoryBank)) implements it over the emulator's
//! sans-IO state, so the use cases can be unit-tested without a socket. Both build their
//! requests from one table (`api::endpoints`). Creates take the exact bytes the ledger stored
//! (the request that was claimed is the request that is sent); every other call is safe to
//! repeat.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{ApiError, Client};
use super::endpoints;
use super::model::{Invoice, InvoiceLog, Transfer};

/// One page of a list and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
}

/// The largest number of ids or tags one list request may carry (the API's page size).
pub const MAX_FILTER: usize = 100;

/// What the money path needs from the bank.
///
/// Futures are `Send` so a use case can run on a multi-threaded runtime or be spawned.
pub trait Bank: Clone + Send + Sync + 'static {
    /// `POST /v2/invoice` with `body` exactly (`{"invoices": [...]}`, see
    /// [`super::model::invoices_body`]). Not retried: after an ambiguous error, look the batch
    /// up by tag before sending again.
    fn create_invoices(
        &self,
        body: &[u8],
    ) -> impl Future<Output = Result<Vec<Invoice>, ApiError>> + Send;

    /// Every invoice carrying `tag` (all pages).
    fn invoices_by_tag(
        &self,
        tag: &str,
    ) -> impl Future<Output = Result<Vec<Invoice>, ApiError>> + Send;

    /// The invoices with these ids (at most [`MAX_FILTER`]).
    fn invoices_by_ids(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Invoice>, ApiError>> + Send;

    /// The `credited` logs of these invoices (at most [`MAX_FILTER`] ids).
    fn invoice_credit_logs(
        &self,
        invoice_ids: &[String],
    ) -> impl Future<Output = Result<Vec<InvoiceLog>, ApiError>> + Send;

    /// `POST /v2/transfer` with `body` exactly (`{"transfers": [...]}`, see
    /// [`super::model::transfers_body`]). Not retried.
    fn create_transfers(
        &self,
        body: &[u8],
    ) -> impl Future<Output = Result<Vec<Transfer>, ApiError>> + Send;

    /// Every transfer carrying any of `tags` (at most [`MAX_FILTER`]; all pages).
    fn transfers_by_tags(
        &self,
        tags: &[&str],
    ) -> impl Future<Output = Result<Vec<Transfer>, ApiError>> + Send;

    /// The transfers with these ids (at most [`MAX_FILTER`]; all pages).
    fn transfers_by_ids(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Transfer>, ApiError>> + Send;

    /// One page of the events not yet marked delivered, raw (an event that cannot be decoded
    /// must not hide the rest of its page).
    fn undelivered_events(
        &self,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Value>, ApiError>> + Send;

    /// `PATCH /v2/event/{id}` `{"isDelivered": true}` (idempotent, retried).
    fn mark_event_delivered(&self, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `PATCH /v2/invoice/{id}` `{"status": "canceled"}`: cancel an invoice that is still
    /// `created` (refused once it is paid, canceled or expired).
    fn cancel_invoice(&self, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

impl Bank for Client {
    async fn create_invoices(&self, body: &[u8]) -> Result<Vec<Invoice>, ApiError> {
        self.create_invoices_raw(body).await
    }

    async fn invoices_by_tag(&self, tag: &str) -> Result<Vec<Invoice>, ApiError> {
        self.list_endpoint(endpoints::invoices_by_tag(tag)).await
    }

    async fn invoices_by_ids(&self, ids: &[String]) -> Result<Vec<Invoice>, ApiError> {
        self.list_endpoint(endpoints::invoices_by_ids(ids)).await
    }

    async fn invoice_credit_logs(
        &self,
        invoice_ids: &[String],
    ) -> Result<Vec<InvoiceLog>, ApiError> {
        self.list_endpoint(endpoints::invoice_credit_logs(invoice_ids))
            .await
    }

    async fn create_transfers(&self, body: &[u8]) -> Result<Vec<Transfer>, ApiError> {
        self.create_transfers_raw(body).await
    }

    async fn transfers_by_tags(&self, tags: &[&str]) -> Result<Vec<Transfer>, ApiError> {
        self.list_endpoint(endpoints::transfers_by_tags(tags)).await
    }

    async fn transfers_by_ids(&self, ids: &[String]) -> Result<Vec<Transfer>, ApiError> {
        self.list_endpoint(endpoints::transfers_by_ids(ids)).await
    }

    async fn undelivered_events(&self, cursor: Option<&str>) -> Result<Page<Value>, ApiError> {
        let list = endpoints::undelivered_events();
        let (items, cursor) = self.page(list.path, list.key, &list.query, cursor).await?;
        Ok(Page { items, cursor })
    }

    async fn mark_event_delivered(&self, id: &str) -> Result<(), ApiError> {
        self.set_event_delivered(id).await
    }

    async fn cancel_invoice(&self, id: &str) -> Result<(), ApiError> {
        self.cancel_invoice_by_id(id).await
    }
}

impl Client {
    /// Every item of `list` (all pages).
    async fn list_endpoint<T: DeserializeOwned>(
        &self,
        list: endpoints::List,
    ) -> Result<Vec<T>, ApiError> {
        self.list_all(list.path, list.key, list.query).await
    }
}
