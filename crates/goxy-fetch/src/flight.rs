//! Single-flight: concurrent requests for the same key share one piece of
//! work. The work runs as its own task, so a client that disconnects does not
//! cancel it for the others, and it leaves the table when it finishes (after
//! its result is committed), so later requests see the cache instead.

use futures_util::future::{BoxFuture, FutureExt, Shared};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

type Flight<T> = Shared<BoxFuture<'static, T>>;

pub struct Flights<T: Clone + Send + Sync + 'static> {
    table: Arc<Mutex<HashMap<String, Flight<T>>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            table: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    /// Runs `work` for `key` unless the same key is already in flight, in
    /// which case it waits for that one. Returns the result and whether this
    /// caller started the work. `on_panic` turns a crashed task into a value.
    pub async fn run<F>(
        &self,
        key: &str,
        work: impl FnOnce() -> F,
        on_panic: fn(String) -> T,
    ) -> (T, bool)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (flight, leader) = {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            match table.get(key) {
                Some(flight) => (flight.clone(), false),
                None => {
                    let table_ref = self.table.clone();
                    let owned_key = key.to_string();
                    let fut = work();
                    let handle = tokio::spawn(async move {
                        let out = fut.await;
                        table_ref
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&owned_key);
                        out
                    });
                    let table_ref = self.table.clone();
                    let owned_key = key.to_string();
                    let flight = async move {
                        match handle.await {
                            Ok(out) => out,
                            Err(join) => {
                                table_ref
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .remove(&owned_key);
                                on_panic(join.to_string())
                            }
                        }
                    }
                    .boxed()
                    .shared();
                    table.insert(key.to_string(), flight.clone());
                    (flight, true)
                }
            }
        };
        (flight.await, leader)
    }

    pub fn in_flight(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_one_execution() {
        let flights: Arc<Flights<Result<u64, String>>> = Arc::new(Flights::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..100 {
            let flights = flights.clone();
            let runs = runs.clone();
            handles.push(tokio::spawn(async move {
                flights
                    .run(
                        "m@v1.0.0.zip",
                        move || async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            Ok(42)
                        },
                        Err,
                    )
                    .await
            }));
        }
        let mut leaders = 0;
        for h in handles {
            let (value, leader) = h.await.unwrap();
            assert_eq!(value, Ok(42));
            leaders += leader as usize;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(leaders, 1);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn abandoned_leader_does_not_cancel_followers() {
        let flights: Arc<Flights<Result<u64, String>>> = Arc::new(Flights::default());
        let leader = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run(
                        "k",
                        || async {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok(7)
                        },
                        Err,
                    )
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        leader.abort();
        let (value, was_leader) = flights.run("k", || async { Ok(0) }, Err).await;
        assert_eq!(value, Ok(7));
        assert!(!was_leader);
    }
}
