//! Spreading independent, costly operations (signature checks, HPKE encryptions) over the
//! cores with scoped threads. No pool and no dependency: a call's threads end with the call.
//! The only thing kept between calls is the core count, a read-only fact about the machine;
//! an application bounds the threads per group ([`GroupConfig::max_threads`]), never
//! through global state.
//!
//! [`GroupConfig::max_threads`]: crate::group::GroupConfig::max_threads

use std::num::NonZeroUsize;
use std::sync::OnceLock;

/// The number of cores this process may use, read once: `available_parallelism` reads the
/// cgroup quota files on Linux (~27 µs a call, as much as the work it would split).
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The threads a call may use: every core, or at most `limit`.
pub(crate) fn threads(limit: Option<NonZeroUsize>) -> usize {
    limit.map_or(cores(), |l| cores().min(l.get()))
}

/// [`map`] on at most `limit` threads (this one included).
pub(crate) fn map_bounded<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    limit: Option<NonZeroUsize>,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_on(items, min_per_thread, threads(limit), f)
}

/// `f` applied to every item, results in item order. With enough items the slice is cut into
/// one contiguous chunk per available core (the first on this thread); fewer than
/// `min_per_thread` items per thread run here alone. A panic in `f` propagates as it would
/// sequentially.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_on(items, min_per_thread, cores(), f)
}

/// [`map`] on at most `max_threads` threads.
fn map_on<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    max_threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let per_thread = min_per_thread.max(1);
    let threads = if items.len() < 2 * per_thread {
        1
    } else {
        max_threads.min(items.len() / per_thread)
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let mut chunks = items.chunks(chunk);
        let mine = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = mine.iter().map(f).collect();
        out.reserve(items.len() - out.len());
        for handle in others {
            match handle.join() {
                Ok(results) => out.extend(results),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::map;

    #[test]
    fn results_keep_item_order_at_every_size() {
        for n in [0usize, 1, 2, 15, 16, 17, 33, 1000] {
            let items: Vec<usize> = (0..n).collect();
            for min in [0, 1, 4, 16] {
                let out = map(&items, min, |x| x * 3 + 1);
                assert_eq!(out, items.iter().map(|x| x * 3 + 1).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_thread_limit_of_one_runs_everything_here() {
        let items: Vec<u32> = (0..256).collect();
        let here = std::thread::current().id();
        let limit = std::num::NonZeroUsize::new(1);
        let ids = super::map_bounded(&items, 1, limit, |_| std::thread::current().id());
        assert!(ids.iter().all(|&id| id == here));
        assert_eq!(super::threads(limit), 1);
    }

    #[test]
    fn a_panic_in_a_worker_propagates() {
        let items: Vec<u32> = (0..64).collect();
        let caught = std::panic::catch_unwind(|| {
            map(&items, 1, |&x| {
                assert!(x != 63, "boom");
                x
            })
        });
        assert!(caught.is_err());
    }
}
