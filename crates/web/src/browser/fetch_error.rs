//! Why a model download stopped. Each message names the URL and says what the person can do
//! instead; the page shows it as the model's status.

use crate::format::bytes;

const NO_ROOM_ADVICE: &str = "Delete models kept in this browser (below) or other sites' data, or download the \
                              file yourself and drop it on \"Drop model files here\".";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error(
        "{url} is {}, but this browser has only {} of storage free for this page, so it was not downloaded. \
         {NO_ROOM_ADVICE}",
        bytes(*size),
        bytes(*free)
    )]
    NoRoom { url: String, size: f64, free: f64 },
    /// The server sent no length, and the bytes read so far already exceed the free space.
    #[error(
        "{url}: stopped the download after {}: the server did not say the file's size, and it is larger than \
         the {} of storage this browser has free for this page. {NO_ROOM_ADVICE}",
        bytes(*read),
        bytes(*free)
    )]
    NoRoomSoFar { url: String, read: f64, free: f64 },
    #[error(
        "{url} is {}; this browser offers no storage to download models into, and the page holds a download \
         in memory only up to {}. Save the file to disk and drop it here: it is read tensor by tensor.",
        bytes(*size),
        bytes(*limit)
    )]
    TooLarge { url: String, size: f64, limit: f64 },
    #[error(
        "{url}: not a GGUF model file: it is a web page, not the model file (on Hugging Face, use the file's \
         download link, with /resolve/ in it). Stopped the download."
    )]
    WebPage { url: String },
    #[error("{url}: not a GGUF model file: it does not start with \"GGUF\". Stopped the download.")]
    NotGguf { url: String },
    #[error(
        "{url}: not found on this server (HTTP 404). The default model is put next to the app by \
         scripts/serve.sh (scripts/fetch-model.sh, then scripts/build-web.sh); or drop a model's files from \
         your disk on \"Drop model files here\"."
    )]
    NotHere { url: String },
    #[error("{url}: not found (HTTP 404): check the repository, revision and file name.")]
    NotFound { url: String },
    #[error(
        "{url}: the server refused it (HTTP {status}): the model is private or gated, and needs a login that \
         this page does not send. Download it in your browser, then drop it on \"Drop model files here\"."
    )]
    Gated { url: String, status: u16 },
    #[error("{url}: could not download: HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url}: could not download: this computer is offline.")]
    Offline { url: String },
    /// The request to this page's own server failed, with the browser's words.
    #[error("{url}: could not download: {why}")]
    Failed { url: String, why: String },
    /// The browser does not tell a network failure from a server that does not allow other
    /// sites to read its files (CORS), so both are named.
    #[error(
        "{url}: could not download ({why}): the network failed, or the server does not let web pages read \
         the file (no CORS header). Download the file yourself and drop it on \"Drop model files here\"."
    )]
    Blocked { url: String, why: String },
    #[error("Cancelled the download of {url}; nothing was kept.")]
    Cancelled { url: String },
    #[error("no browser window")]
    NoWindow,
    #[error("{url}: the response has no body")]
    NoBody { url: String },
    /// The browser could not build the stream or the Blob, with its words.
    #[error("{url}: {why}")]
    Browser { url: String, why: String },
    #[error("{url}: could not keep the model in browser storage: {why}")]
    NotKept { url: String, why: String },
    #[error("{url}: the model was stored but cannot be read back")]
    NotReadBack { url: String },
}
