//! Group commit's queue: requests that arrive while a batch is running wait, then run together
//! as the next batch (one transaction, one COMMIT, one WAL flush for all of them). One batch at
//! a time per [`Batcher`]; the batches run in their own task, so a caller that goes away does
//! not cut its batch short (it only stops waiting for the answer).
//!
//! What a batch does is its [`RunBatch`]: PostgreSQL's step 1 of the charges
//! (`postgres::Opener`) and step 2 (`intents::Settler`).

use super::{BoxFuture, StoreError, StoreResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// One request of a batch and where its answer goes.
pub(super) struct Pending<I, O> {
    pub item: I,
    pub reply: oneshot::Sender<StoreResult<O>>,
}

impl<I, O> Pending<I, O> {
    /// Answers the caller (who may have gone away: then nobody listens).
    pub fn answer(self, outcome: StoreResult<O>) {
        let _ = self.reply.send(outcome);
    }
}

/// What a batch does: runs every request of `batch` and answers each (a request left
/// unanswered answers its caller "the batch stopped").
pub(super) trait RunBatch: Send + Sync + 'static {
    type Item: Send + 'static;
    type Output: Send + 'static;
    fn run(&self, batch: Vec<Pending<Self::Item, Self::Output>>) -> BoxFuture<'_, ()>;
}

type Queue<R> = Vec<Pending<<R as RunBatch>::Item, <R as RunBatch>::Output>>;

pub(super) struct Batcher<R: RunBatch> {
    runner: R,
    /// Requests at most per batch.
    max: usize,
    queue: Mutex<Queue<R>>,
    /// A task is draining the queue.
    draining: AtomicBool,
}

impl<R: RunBatch> Batcher<R> {
    pub fn new(runner: R, max: usize) -> Arc<Batcher<R>> {
        Arc::new(Batcher {
            runner,
            max: max.max(1),
            queue: Mutex::new(Vec::new()),
            draining: AtomicBool::new(false),
        })
    }

    /// Queues `item` (starting a draining task when none runs) and waits for its answer.
    pub async fn submit(self: &Arc<Self>, item: R::Item) -> StoreResult<R::Output> {
        let (reply, answer) = oneshot::channel();
        self.lock().push(Pending { item, reply });
        if !self.draining.swap(true, Ordering::SeqCst) {
            let batcher = self.clone();
            tokio::spawn(async move { batcher.drain().await });
        }
        answer
            .await
            .map_err(|_| StoreError::new("the batch stopped before answering"))?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<R>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn drain(self: Arc<Self>) {
        loop {
            let batch: Queue<R> = {
                let mut queue = self.lock();
                let n = queue.len().min(self.max);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.draining.store(false, Ordering::SeqCst);
                // A request queued between the take and the store above found `draining` set
                // and started nobody: take it (unless another drainer started meanwhile).
                let more = !self.lock().is_empty();
                if more && !self.draining.swap(true, Ordering::SeqCst) {
                    continue;
                }
                return;
            }
            self.runner.run(batch).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Records the size of each batch; answers each item with itself, or drops the item's
    /// reply unanswered when it is 0.
    struct Recorder {
        sizes: Mutex<Vec<usize>>,
        running: AtomicUsize,
        overlapped: AtomicBool,
    }

    impl RunBatch for Arc<Recorder> {
        type Item = u32;
        type Output = u32;
        fn run(&self, batch: Vec<Pending<u32, u32>>) -> BoxFuture<'_, ()> {
            Box::pin(async move {
                if self.running.fetch_add(1, Ordering::SeqCst) > 0 {
                    self.overlapped.store(true, Ordering::SeqCst);
                }
                self.sizes.lock().unwrap().push(batch.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                for p in batch {
                    if p.item != 0 {
                        let v = p.item;
                        p.answer(Ok(v));
                    }
                }
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn requests_arriving_together_share_batches_one_batch_at_a_time_each_answered_once() {
        let recorder = Arc::new(Recorder {
            sizes: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            overlapped: AtomicBool::new(false),
        });
        let batcher = Batcher::new(recorder.clone(), 8);
        let mut tasks = Vec::new();
        for i in 1..=50u32 {
            let b = batcher.clone();
            tasks.push(tokio::spawn(async move { (i, b.submit(i).await) }));
        }
        for t in tasks {
            let (i, answer) = t.await.unwrap();
            assert_eq!(answer, Ok(i));
        }
        let sizes = recorder.sizes.lock().unwrap().clone();
        assert_eq!(
            sizes.iter().sum::<usize>(),
            50,
            "every request ran once: {sizes:?}"
        );
        assert!(
            sizes.iter().all(|n| *n <= 8),
            "at most 8 per batch: {sizes:?}"
        );
        // 50 requests submitted at once and 20 ms per batch: they cannot all run alone.
        assert!(sizes.len() < 50, "no grouping: {sizes:?}");
        assert!(
            !recorder.overlapped.load(Ordering::SeqCst),
            "two batches at once"
        );
        // The queue is idle again: a later request starts a new drainer.
        assert_eq!(batcher.submit(7).await, Ok(7));
        // A request its batch did not answer gets an error, not a hang.
        let unanswered = batcher.submit(0).await.unwrap_err();
        assert!(unanswered.message.contains("batch stopped"), "{unanswered}");
        assert_eq!(batcher.submit(9).await, Ok(9));
    }
}
