//! Hand-written conveniences on generated builders for files: addressing a drive item by
//! path, and upload sessions that return a ready [`LargeFileUpload`].

#[cfg(any(feature = "files", feature = "mail"))]
use msgraph_typed_core::{LargeFileUpload, Result, UploadTarget};

/// `{item}:/a/b.txt:`, each segment percent-encoded: Graph's path addressing.
#[cfg(feature = "files")]
fn item_at(
    client: &msgraph_typed_core::Client,
    item: &str,
    relative_path: &str,
) -> crate::builders::DriveItemBuilder {
    let encoded: Vec<String> = relative_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(msgraph_typed_core::path::encode_segment)
        .collect();
    crate::builders::DriveItemBuilder::new(
        client.clone(),
        format!("{item}:/{}:", encoded.join("/")),
    )
}

#[cfg(feature = "files")]
impl<A> crate::references::ReferenceSingle<crate::models::Drive, A> {
    /// The drive's root folder (`.../drive/root`): Graph addresses a user's or group's drive
    /// items through the drive reference itself, as `/me/drive/root` and `/me/drive/items/{id}`.
    pub fn root(&self) -> crate::builders::DriveItemBuilder {
        crate::builders::DriveItemBuilder::new(self.client.clone(), format!("{}/root", self.path))
    }

    /// The drive's items by id (`.../drive/items/{id}`).
    pub fn items(&self) -> crate::builders::DriveItemCollectionBuilder {
        crate::builders::DriveItemCollectionBuilder::new(
            self.client.clone(),
            format!("{}/items", self.path),
        )
    }
}

#[cfg(feature = "files")]
impl<A> crate::references::ReferenceSingle<crate::models::DriveItem, A> {
    /// The item at `relative_path` under this one, usually a drive's root (Graph's path
    /// addressing, `.../root:/reports/q3.csv:`), existing or not yet: upload to it, or read
    /// it. Each segment is percent-encoded.
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed::GraphClient) -> msgraph_typed::Result<()> {
    /// let report = client.me().drive().root().item_at("reports/q3.csv");
    /// let bytes = report.content().download().send().await?;
    /// # let _ = bytes; Ok(()) }
    /// ```
    pub fn item_at(&self, relative_path: &str) -> crate::builders::DriveItemBuilder {
        item_at(&self.client, &self.path, relative_path)
    }
}

#[cfg(feature = "files")]
impl crate::builders::DriveItemBuilder {
    /// The item at `relative_path` under this one (a folder), existing or not yet (Graph's
    /// path addressing, `.../items/{id}:/q3.csv:`). Each segment is percent-encoded.
    pub fn item_at(&self, relative_path: &str) -> Self {
        item_at(&self.client, &self.path, relative_path)
    }

    /// Creates an upload session for a file of `size` bytes at this item (usually one
    /// addressed with [`Self::item_at`]) and returns the upload, ready to take the file.
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed::GraphClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use msgraph_typed::ConflictBehavior;
    ///
    /// let file = tokio::fs::File::open("q3.csv").await?;
    /// let size = file.metadata().await?.len();
    /// let target = client.me().drive().root().item_at("reports/q3.csv");
    /// let mut upload = target.upload_session(size, ConflictBehavior::Replace).await?;
    /// let done = upload.upload::<_, msgraph_typed::models::DriveItem>(file).await?;
    /// # let _ = done; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`LargeFileUpload::create`].
    pub async fn upload_session(
        &self,
        size: u64,
        conflict: msgraph_typed_core::ConflictBehavior,
    ) -> Result<LargeFileUpload> {
        let body = serde_json::json!({
            "item": { "@microsoft.graph.conflictBehavior": conflict.as_str() }
        });
        LargeFileUpload::create(
            &self.client,
            &format!("{}/createUploadSession", self.path),
            &body,
            UploadTarget::DriveItem,
            size,
        )
        .await
    }
}

#[cfg(feature = "mail")]
impl crate::builders::AttachmentCollectionBuilder {
    /// Creates an upload session for a file attachment of `size` bytes (Outlook takes
    /// attachments from 3 MB to 150 MB this way) and returns the upload. Its completion
    /// carries the attachment's URL in [`msgraph_typed_core::UploadComplete::location`].
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed::GraphClient, pdf: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
    /// let attachments = client.me().messages().by_id("AAMk...").attachments();
    /// let mut upload = attachments
    ///     .upload_session("contract.pdf", pdf.len() as u64, "application/pdf")
    ///     .await?;
    /// let done = upload.upload::<_, serde_json::Value>(&pdf[..]).await?;
    /// # let _ = done; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`LargeFileUpload::create`].
    pub async fn upload_session(
        &self,
        name: &str,
        size: u64,
        content_type: &str,
    ) -> Result<LargeFileUpload> {
        let body = serde_json::json!({
            "AttachmentItem": {
                "attachmentType": "file",
                "name": name,
                "size": size,
                "contentType": content_type,
            }
        });
        LargeFileUpload::create(
            &self.client,
            &format!("{}/createUploadSession", self.path),
            &body,
            UploadTarget::Attachment,
            size,
        )
        .await
    }
}
