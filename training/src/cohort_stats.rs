//! (being written) cohort statistics.
use crate::error::{Result, TrainError};
pub struct CohortStats;
impl CohortStats {
    pub fn to_text(&self) -> String {
        String::new()
    }
    pub fn to_json(&self) -> String {
        String::new()
    }
}
pub fn cohort_stats(_d: &std::path::Path) -> Result<CohortStats> {
    Err(TrainError::Invalid("in progress".into()))
}
