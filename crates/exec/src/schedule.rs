//! Runs a task DAG: dependencies first, at most `jobs` at a time, fail fast by default.
//!
//! Invariants:
//! 1. A task starts only after all its dependencies finished with `ok` or `skipped`
//!    (a skip that is not caused by a failure, such as "no upstream state yet"), or failed
//!    with a failure that holds nothing back ([`Job::holds_back`]).
//! 2. When a task fails, every task that depends on it, directly or not, is skipped with
//!    the failed task named as the reason, and never runs, unless its failure holds nothing
//!    back: then its dependents run as after a success, and the run goes on.
//! 3. Without `keep_going`, the first failure stops new starts; running tasks finish.
//!    A cancellation (Ctrl-C) does the same, whatever `keep_going` says.
//! 4. Every task gets exactly one outcome.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

/// Why the scheduler skipped a task without running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// This task (by index) failed, and the skipped task depends on it.
    DependencyFailed(usize),
    /// The run stopped early: an earlier failure without --keep-going, or an interrupt.
    Stopped,
}

pub trait Job: Sync {
    type Out: Send;
    /// Runs one task.
    fn run(&self, task: usize) -> (Status, Self::Out);
    /// The outcome of a task the scheduler did not run.
    fn not_run(&self, task: usize, why: NotRun) -> Self::Out;
    /// The outcome of a task whose `run` panicked: it failed with an internal error (the
    /// message says what), and the run goes on as after any failure.
    fn panicked(&self, task: usize, message: &str) -> Self::Out;
    /// Whether the run was interrupted (checked between tasks).
    fn cancelled(&self) -> bool {
        false
    }
    /// Whether `task` failing skips the tasks that depend on it (it does by default). One
    /// that does not is only ordered before them: they run when it is done, however it went.
    fn holds_back(&self, _task: usize) -> bool {
        true
    }
}

/// Runs every task; `on_start`/`on_done` are called on this thread, in event order.
pub fn run_graph<J: Job>(
    deps: &[Vec<usize>],
    jobs: usize,
    keep_going: bool,
    job: &J,
    mut on_start: impl FnMut(usize),
    mut on_done: impl FnMut(usize, Status, &J::Out),
) -> Vec<(Status, J::Out)> {
    let n = deps.len();
    let mut dependents = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = vec![0; n];
    for (t, ds) in deps.iter().enumerate() {
        waiting[t] = ds.len();
        for &d in ds {
            dependents[d].push(t);
        }
    }
    let mut outcomes: Vec<Option<(Status, J::Out)>> = (0..n).map(|_| None).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&t| waiting[t] == 0).collect();
    let (work_tx, work_rx) = mpsc::channel::<usize>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Status, J::Out)>();
    let jobs = jobs.max(1);

    std::thread::scope(|scope| {
        for _ in 0..jobs.min(n.max(1)) {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            scope.spawn(move || loop {
                let next = work_rx.lock().expect("work queue").recv();
                let Ok(task) = next else { break };
                // A bug in one task must not take the worker, and the run, with it.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(task)));
                let (status, out) = match ran {
                    Ok(outcome) => outcome,
                    Err(payload) => {
                        let message = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic without a message".into());
                        (Status::Failed, job.panicked(task, &message))
                    }
                };
                if done_tx.send((task, status, out)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);

        let mut running = 0usize;
        let mut stopping = false;
        let mut finished = 0usize;
        loop {
            if job.cancelled() {
                stopping = true;
            }
            while !stopping && running < jobs {
                let Some(t) = ready.pop_front() else { break };
                on_start(t);
                work_tx.send(t).expect("workers alive");
                running += 1;
            }
            if running == 0 {
                break;
            }
            let (t, status, out) = done_rx.recv().expect("a running task reports");
            running -= 1;
            finished += 1;
            on_done(t, status, &out);
            outcomes[t] = Some((status, out));
            if status == Status::Failed && job.holds_back(t) {
                // Skip everything downstream, transitively, and without --keep-going stop.
                let mut stack = dependents[t].clone();
                while let Some(d) = stack.pop() {
                    if outcomes[d].is_some() {
                        continue;
                    }
                    let out = job.not_run(d, NotRun::DependencyFailed(t));
                    on_done(d, Status::Skipped, &out);
                    outcomes[d] = Some((Status::Skipped, out));
                    finished += 1;
                    stack.extend(dependents[d].iter().copied());
                }
                if !keep_going {
                    stopping = true;
                }
            } else {
                for &d in &dependents[t] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 && outcomes[d].is_none() {
                        ready.push_back(d);
                    }
                }
            }
            if finished == n {
                break;
            }
        }
        drop(work_tx);
    });

    outcomes
        .into_iter()
        .enumerate()
        .map(|(t, o)| {
            o.unwrap_or_else(|| {
                let out = job.not_run(t, NotRun::Stopped);
                on_done(t, Status::Skipped, &out);
                (Status::Skipped, out)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fake {
        fail: Vec<usize>,
        order: Mutex<Vec<usize>>,
        concurrent: AtomicUsize,
        max_concurrent: AtomicUsize,
    }

    impl Fake {
        fn new(fail: &[usize]) -> Fake {
            Fake {
                fail: fail.to_vec(),
                order: Mutex::new(Vec::new()),
                concurrent: AtomicUsize::new(0),
                max_concurrent: AtomicUsize::new(0),
            }
        }
    }

    impl Job for Fake {
        type Out = String;
        fn run(&self, task: usize) -> (Status, String) {
            let now = self.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_concurrent.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            self.order.lock().unwrap().push(task);
            self.concurrent.fetch_sub(1, Ordering::SeqCst);
            if self.fail.contains(&task) {
                (Status::Failed, "boom".into())
            } else {
                (Status::Ok, "ran".into())
            }
        }
        fn not_run(&self, _task: usize, why: NotRun) -> String {
            format!("{why:?}")
        }
        fn panicked(&self, _task: usize, message: &str) -> String {
            format!("panicked: {message}")
        }
    }

    struct Panics;

    impl Job for Panics {
        type Out = String;
        fn run(&self, task: usize) -> (Status, String) {
            std::thread::sleep(std::time::Duration::from_millis(5));
            if task == 1 {
                panic!("task {task} has a bug");
            }
            (Status::Ok, "ran".into())
        }
        fn not_run(&self, _task: usize, why: NotRun) -> String {
            format!("{why:?}")
        }
        fn panicked(&self, task: usize, message: &str) -> String {
            format!("internal error in {task}: {message}")
        }
    }

    #[test]
    fn a_panicking_task_fails_and_the_run_finishes() {
        for jobs in [1, 2, 4] {
            let out = run_graph(&dag(), jobs, true, &Panics, |_| {}, |_, _, _| {});
            assert_eq!(out[1].0, Status::Failed, "-j {jobs}");
            assert_eq!(out[1].1, "internal error in 1: task 1 has a bug");
            assert_eq!(out[2], (Status::Skipped, "DependencyFailed(1)".to_string()));
            assert_eq!(out[3].0, Status::Ok);
        }
    }

    // 0 <- 1 <- 2 ; 3 independent ; 4 <- 2
    fn dag() -> Vec<Vec<usize>> {
        vec![vec![], vec![0], vec![1], vec![], vec![2]]
    }

    #[test]
    fn dependencies_first_and_bounded() {
        let job = Fake::new(&[]);
        let out = run_graph(&dag(), 2, false, &job, |_| {}, |_, _, _| {});
        assert!(out.iter().all(|o| o.0 == Status::Ok));
        let order = job.order.lock().unwrap().clone();
        let pos = |t| order.iter().position(|&x| x == t).unwrap();
        assert!(pos(0) < pos(1) && pos(1) < pos(2) && pos(2) < pos(4));
        assert!(job.max_concurrent.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn failure_skips_dependents_and_keep_going_runs_the_rest() {
        let job = Fake::new(&[1]);
        let out = run_graph(&dag(), 1, true, &job, |_| {}, |_, _, _| {});
        let statuses: Vec<Status> = out.iter().map(|o| o.0).collect();
        assert_eq!(
            statuses,
            vec![
                Status::Ok,
                Status::Failed,
                Status::Skipped,
                Status::Ok,
                Status::Skipped
            ]
        );
        assert_eq!(out[4].1, "DependencyFailed(1)");
    }

    /// Fails task 1, whose failure holds nothing back.
    struct Recorded(Fake);

    impl Job for Recorded {
        type Out = String;
        fn run(&self, task: usize) -> (Status, String) {
            self.0.run(task)
        }
        fn not_run(&self, task: usize, why: NotRun) -> String {
            self.0.not_run(task, why)
        }
        fn panicked(&self, task: usize, message: &str) -> String {
            self.0.panicked(task, message)
        }
        fn holds_back(&self, task: usize) -> bool {
            task != 1
        }
    }

    #[test]
    fn a_failure_that_holds_nothing_back_only_orders() {
        for keep_going in [false, true] {
            let job = Recorded(Fake::new(&[1]));
            let out = run_graph(&dag(), 1, keep_going, &job, |_| {}, |_, _, _| {});
            let statuses: Vec<Status> = out.iter().map(|o| o.0).collect();
            assert_eq!(
                statuses,
                vec![
                    Status::Ok,
                    Status::Failed,
                    Status::Ok,
                    Status::Ok,
                    Status::Ok
                ]
            );
            let order = job.0.order.lock().unwrap().clone();
            let pos = |t| order.iter().position(|&x| x == t).unwrap();
            assert!(pos(1) < pos(2) && pos(2) < pos(4), "{order:?}");
        }
    }

    #[test]
    fn fail_fast_stops_new_starts() {
        let job = Fake::new(&[0]);
        // one worker: 0 fails first; 3 must not start afterwards
        let out = run_graph(&dag(), 1, false, &job, |_| {}, |_, _, _| {});
        assert_eq!(out[0].0, Status::Failed);
        assert_eq!(out[3], (Status::Skipped, "Stopped".to_string()));
    }
}
