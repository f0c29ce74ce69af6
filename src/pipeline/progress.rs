//! Progress and cancellation of one segmentation as its stages see them.

use crate::error::{Error, Result};

/// Progress reporting that never goes backwards, shared by worker threads: the callback runs
/// under a lock, so callers see strictly increasing values even from several threads.
pub(crate) struct Progress<'a> {
    cb: Option<&'a (dyn Fn(f32) + Sync)>,
    cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    last: parking_lot::Mutex<f32>,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(
        cb: Option<&'a (dyn Fn(f32) + Sync)>,
        cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    ) -> Self {
        Progress {
            cb,
            cancel,
            last: parking_lot::Mutex::new(-1.0),
        }
    }

    pub(crate) fn report(&self, v: f32) {
        let v = v.clamp(0.0, 1.0);
        let mut last = self.last.lock();
        if v > *last {
            *last = v;
            if let Some(cb) = self.cb {
                cb(v);
            }
        }
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c())
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_never_goes_back() {
        let seen = parking_lot::Mutex::new(Vec::new());
        let cb = |v: f32| seen.lock().push(v);
        let p = Progress::new(Some(&cb), None);
        for v in [0.0, 0.1, 0.3, 0.2, 0.3, 0.9, 1.5] {
            p.report(v);
        }
        assert_eq!(*seen.lock(), vec![0.0, 0.1, 0.3, 0.9, 1.0]);
    }
}
