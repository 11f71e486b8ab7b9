//! Why a model could not be loaded, from whichever place it was to come: an address, the
//! browser's model cache, a download, or files picked. The page shows it as the model's status.

use crate::browser::model_cache::CacheError;
use crate::browser::model_fetch::FetchError;
use crate::steps::model::model_pick::PickError;
use crate::steps::model::model_source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Pick(#[from] PickError),
    #[error("this browser cannot download models (no AbortController)")]
    NoAbort,
}
