//! The search as a timely dataflow: any number of workers in one process (`--workers N`), or in
//! several processes on several machines (`--hostfile FILE --process I`, see
//! docs/scale-out.md).
//!
//! Each worker owns the classes whose fingerprints map to it ([`owner_of`]) and keeps the visited
//! set of those classes only. A timestamp is a level. At level `t` a worker builds the classes
//! it won (see below), checks the properties on them, and expands them: it fingerprints their
//! successors without building them ([`super::successor`]) and sends, to each successor's owner,
//! one [`Batch`]: the parent (packed), its fingerprint parts and path, and the (fingerprint,
//! action) pairs that owner is to judge. Through the feedback edge the batches arrive at level
//! `t + 1`; when timely's frontier says no more can come for `t + 1`, the owner keeps, for each
//! fingerprint it has not visited, the candidate with the smallest path, builds it from its
//! parent (checking that the built state has the fingerprint its generator computed) and goes
//! on. Only the owner builds a state, once; a state travels once per owner of its successors.
//!
//! As in [`super::local`], levels are complete before the next begins, so the first level at
//! which a property is decided gives a shortest path, and the path kept is the smallest of its
//! level: the result is the same for any number of workers and processes. At the end every
//! worker broadcasts its counts and discoveries, and every process merges them into the same
//! [`Outcome`].
//!
//! It does not form the cluster: [`super::connect`] does, before timely starts.

use super::connect::{connect, Agreement, ClusterError};
use super::fingerprint::Parts;
use super::packed::Packed;
use super::progress::Progress;
use super::visited::Visited;
use super::{
    child_path, Discovery, LevelHits, Node, Outcome, Search, SearchError, Seen, Step, Worker,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, ConnectLoop, Feedback, Inspect, ToStream};

/// Where the processes of a cluster are.
#[derive(Clone, Debug)]
pub struct Hosts {
    /// One `host:port` per process, in process order (a hostfile's lines).
    pub addresses: Vec<String>,
    /// This process's index.
    pub process: usize,
    /// How long to wait for the other processes before giving up.
    pub connect_timeout: Duration,
}

/// How to run a search on timely dataflow.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Worker threads in this process (every process runs the same number).
    pub workers: usize,
    /// The other processes, if any.
    pub hosts: Option<Hosts>,
    /// Progress lines on stderr (this process's counts).
    pub progress: Option<Duration>,
}

/// The worker that owns a fingerprint among `peers`.
pub fn owner_of(fp: u64, peers: usize) -> usize {
    ((fp >> 17) % peers.max(1) as u64) as usize
}

/// A parent and the successors one owner is to judge.
#[derive(Clone, Serialize, Deserialize)]
struct Batch {
    /// The worker the batch is for.
    owner: u32,
    /// The parent, packed.
    parent: Arc<Packed>,
    /// The parent's fingerprint parts.
    parts: Arc<Parts>,
    /// The parent's path.
    path: Arc<[Step]>,
    /// `(fingerprint, action index)` of each successor this owner owns.
    steps: Vec<(u64, Step)>,
}

/// What one worker found, sent to every worker at the end.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Summary {
    generated: u64,
    unique: u64,
    visited_bytes: u64,
    /// Batches sent to workers in other processes, and their bytes as timely serializes them.
    remote_batches: u64,
    remote_bytes: u64,
    /// States per level.
    widths: Vec<u64>,
    cut: bool,
    /// Per property: level and path of the first (smallest) discovery.
    found: Vec<Option<(usize, Vec<Step>)>>,
    error: Option<String>,
}

/// One worker's state between invocations of its operator.
struct Level {
    search: Arc<Search>,
    me: usize,
    peers: usize,
    /// Workers per process (timely numbers a process's workers consecutively).
    local: usize,
    visited: Visited,
    worker: Worker,
    seen: Seen,
    open: Vec<bool>,
    summary: Summary,
    progress: Arc<Progress>,
}

impl Level {
    fn new(
        search: Arc<Search>,
        me: usize,
        peers: usize,
        local: usize,
        progress: Arc<Progress>,
    ) -> Level {
        let n = search.properties.len();
        Level {
            search,
            me,
            peers,
            local: local.max(1),
            visited: Visited::default(),
            worker: Worker::default(),
            seen: Seen::default(),
            open: vec![true; n],
            summary: Summary {
                found: vec![None; n],
                ..Summary::default()
            },
            progress,
        }
    }

    /// The initial states this worker owns.
    fn initial(&mut self) -> Vec<Node> {
        let mut nodes = Vec::new();
        for (fp, node) in self.search.initial() {
            if self.me == 0 {
                self.summary.generated += 1;
            }
            if owner_of(fp, self.peers) == self.me && self.visited.insert(fp) {
                nodes.push(node);
            }
        }
        nodes
    }

    /// Builds the winners of level `t` among `batches`.
    fn judge(&mut self, batches: &[Batch]) -> Result<Vec<Node>, SearchError> {
        // For each fingerprint not visited: the candidate with the smallest path.
        let mut best: HashMap<
            u64,
            (usize, Step),
            std::hash::BuildHasherDefault<super::visited::Identity>,
        > = HashMap::default();
        for (bi, b) in batches.iter().enumerate() {
            for &(fp, step) in &b.steps {
                if self.visited.contains(fp) {
                    continue;
                }
                let better = match best.get(&fp) {
                    None => true,
                    Some(&(obi, ostep)) => (&*b.path, step) < (&*batches[obi].path, ostep),
                };
                if better {
                    best.insert(fp, (bi, step));
                }
            }
        }
        let mut by_batch: BTreeMap<usize, Vec<(Step, u64)>> = BTreeMap::new();
        for (fp, (bi, step)) in best {
            self.visited.insert(fp);
            by_batch.entry(bi).or_default().push((step, fp));
        }
        let mut nodes = Vec::new();
        for (bi, wins) in by_batch {
            let b = &batches[bi];
            let parent = b.parent.unpack();
            self.search.load_actions(&parent, &mut self.worker);
            for (step, fp) in wins {
                let (state, parts) =
                    self.search
                        .build(&parent, &b.parts, step, fp, false, &mut self.worker)?;
                nodes.push((state, parts, child_path(&b.path, step)));
            }
        }
        nodes.sort_by(|a, b| a.2.cmp(&b.2));
        Ok(nodes
            .into_iter()
            .map(|(state, parts, path)| Node {
                state: Packed::pack(&state),
                parts,
                path,
            })
            .collect())
    }

    /// Checks level `t`'s states and expands them into batches for level `t + 1`.
    fn level(&mut self, t: usize, nodes: Vec<Node>) -> Result<Vec<Batch>, SearchError> {
        let bound = self.search.max_depth();
        if self.summary.widths.len() <= t {
            self.summary.widths.resize(t + 1, 0);
        }
        self.summary.widths[t] += nodes.len() as u64;
        self.progress.add_unique(nodes.len() as u64, t);
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        if bound.is_none_or(|b| t + 1 < b) {
            let mut hits = LevelHits::new(self.open.len());
            for node in &nodes {
                let state = node.state.unpack();
                self.search
                    .decided_in(&state, &self.open, |i| hits.offer(i, &node.path));
            }
            for (i, hit) in hits.best.into_iter().enumerate() {
                if let (Some(path), true) = (hit, self.open[i]) {
                    self.open[i] = false;
                    self.summary.found[i] = Some((t, path));
                }
            }
        }
        if bound.is_some_and(|b| t + 1 >= b) {
            self.summary.cut = true;
            return Ok(Vec::new());
        }
        self.seen.clear();
        let mut out = Vec::new();
        for node in nodes {
            let Node { state, parts, path } = node;
            let packed = Arc::new(state);
            let mut parent = packed.unpack();
            let mut per_owner: BTreeMap<usize, Vec<(u64, Step)>> = BTreeMap::new();
            let (me, peers) = (self.me, self.peers);
            let (visited, seen) = (&self.visited, &mut self.seen);
            let generated =
                self.search
                    .successors(&mut parent, &parts, &mut self.worker, |_, _, succ| {
                        let fp = succ.fp();
                        let owner = owner_of(fp, peers);
                        if (owner == me && visited.contains(fp)) || !seen.insert(fp) {
                            return Ok(());
                        }
                        per_owner.entry(owner).or_default().push((fp, succ.step()));
                        Ok(())
                    })?;
            self.summary.generated += generated;
            self.progress.generated(generated);
            let parts = Arc::new(parts);
            let path: Arc<[Step]> = path.into();
            for (owner, steps) in per_owner {
                let batch = Batch {
                    owner: owner as u32,
                    parent: Arc::clone(&packed),
                    parts: Arc::clone(&parts),
                    path: Arc::clone(&path),
                    steps,
                };
                if owner / self.local != me / self.local {
                    // Timely serializes with bincode what crosses processes (a batch to a
                    // worker of this process moves as it is).
                    self.summary.remote_batches += 1;
                    self.summary.remote_bytes += bincode::serialized_size(&batch).unwrap_or(0);
                }
                out.push(batch);
            }
        }
        Ok(out)
    }

    fn fail(&mut self, e: SearchError) {
        if self.summary.error.is_none() {
            self.summary.error = Some(e.to_string());
        }
    }
}

/// One worker's part of the search; returns the merged outcome (the same on every worker).
fn work(
    worker: &mut timely::worker::Worker,
    local: usize,
    search: Arc<Search>,
    progress: Arc<Progress>,
    started: Instant,
) -> Result<Outcome, SearchError> {
    let me = worker.index();
    let peers = worker.peers();
    let level = Rc::new(RefCell::new(Level::new(search, me, peers, local, progress)));
    let state = Rc::clone(&level);
    worker.dataflow::<u32, _, _>(move |scope| {
        let (handle, cycle) = scope.feedback::<Vec<Batch>>(1u32);
        cycle
            .unary_frontier::<timely::container::CapacityContainerBuilder<Vec<Batch>>, _, _, _>(
                Exchange::new(|b: &Batch| u64::from(b.owner)),
                "Level",
                move |cap, _info| {
                    let mut initial = Some(cap);
                    let mut pending: BTreeMap<u32, (Capability<u32>, Vec<Batch>)> = BTreeMap::new();
                    move |(input, frontier), output| {
                        let mut st = state.borrow_mut();
                        if let Some(cap) = initial.take() {
                            let nodes = st.initial();
                            match st.level(0, nodes) {
                                Ok(batches) => {
                                    let mut session = output.session(&cap);
                                    for b in batches {
                                        session.give(b);
                                    }
                                }
                                Err(e) => st.fail(e),
                            }
                        }
                        input.for_each_stamp(|cap, data| {
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                let t = *cap.time();
                                let entry = pending.entry(t).or_insert_with(|| (cap, Vec::new()));
                                for container in data {
                                    entry.1.append(container);
                                }
                            }
                        });
                        while let Some(&t) = pending.keys().next() {
                            if frontier.less_equal(&t) {
                                break;
                            }
                            let Some((cap, batches)) = pending.remove(&t) else {
                                break;
                            };
                            if st.summary.error.is_some() {
                                continue;
                            }
                            let next = st
                                .judge(&batches)
                                .and_then(|nodes| st.level(t as usize, nodes));
                            drop(batches);
                            match next {
                                Ok(out) => {
                                    let mut session = output.session(&cap);
                                    for b in out {
                                        session.give(b);
                                    }
                                }
                                Err(e) => st.fail(e),
                            }
                        }
                    }
                },
            )
            .connect_loop(handle);
    });
    while worker.has_dataflows() {
        worker.step_or_park(Some(Duration::from_millis(50)));
    }
    // Every worker learns every worker's summary.
    let mine = {
        let mut l = level.borrow_mut();
        l.summary.unique = l.visited.len() as u64;
        l.summary.visited_bytes = l.visited.bytes() as u64;
        l.summary.clone()
    };
    let all: Rc<RefCell<Vec<Summary>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&all);
    worker.dataflow::<u32, _, _>(move |scope| {
        vec![mine]
            .to_stream(scope)
            .broadcast()
            .inspect(move |s: &Summary| sink.borrow_mut().push(s.clone()));
    });
    while worker.has_dataflows() {
        worker.step_or_park(Some(Duration::from_millis(50)));
    }
    let summaries = all.borrow().clone();
    let search = Arc::clone(&level.borrow().search);
    merge(&search, &summaries, peers, started)
}

fn merge(
    search: &Search,
    summaries: &[Summary],
    workers: usize,
    started: Instant,
) -> Result<Outcome, SearchError> {
    if let Some(e) = summaries.iter().find_map(|s| s.error.clone()) {
        return Err(SearchError::Worker(e));
    }
    if summaries.len() != workers {
        return Err(SearchError::Worker(format!(
            "{} of {workers} workers reported",
            summaries.len()
        )));
    }
    let n = search.properties.len();
    let mut discoveries: Vec<Option<Discovery>> = vec![None; n];
    let mut best: Vec<Option<(usize, Vec<Step>)>> = vec![None; n];
    let mut widths: Vec<u64> = Vec::new();
    for s in summaries {
        for (i, f) in s.found.iter().enumerate() {
            if let Some(f) = f {
                if best[i].as_ref().is_none_or(|b| f < b) {
                    best[i] = Some(f.clone());
                }
            }
        }
        if widths.len() < s.widths.len() {
            widths.resize(s.widths.len(), 0);
        }
        for (w, x) in widths.iter_mut().zip(&s.widths) {
            *w += x;
        }
    }
    for (slot, b) in discoveries.iter_mut().zip(best) {
        *slot = b.map(|(depth, path)| Discovery {
            depth,
            path: path.into_iter().map(usize::from).collect(),
        });
    }
    let levels = widths.iter().rposition(|&w| w > 0).map_or(0, |l| l + 1);
    Ok(Outcome {
        generated: summaries.iter().map(|s| s.generated).sum(),
        unique: summaries.iter().map(|s| s.unique).sum(),
        max_depth: levels,
        discoveries,
        complete: !summaries.iter().any(|s| s.cut),
        visited_bytes: summaries.iter().map(|s| s.visited_bytes).sum(),
        remote_batches: summaries.iter().map(|s| s.remote_batches).sum(),
        remote_bytes: summaries.iter().map(|s| s.remote_bytes).sum(),
        widest_level: widths.iter().copied().max().unwrap_or(0),
        workers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What the processes of a cluster must agree on for `search`.
pub fn agreement(search: &Search, workers: usize) -> Agreement {
    let ids: Vec<&str> = search.properties.iter().map(|p| p.id).collect();
    Agreement {
        workers,
        version: format!("jpkisim {} engine 1", env!("CARGO_PKG_VERSION")),
        search: serde_json::json!({
            "config": search.cfg,
            "properties": ids,
            "renamings": search.canon.renamings(),
        })
        .to_string(),
    }
}

/// Runs `search` on timely dataflow as `opts` says.
pub fn run(search: Search, opts: &ClusterOptions) -> Result<Outcome, SearchError> {
    let workers = opts.workers.max(1);
    let started = Instant::now();
    let progress = Arc::new(Progress::new(opts.progress, started));
    let search = Arc::new(search);
    let (builders, guard): (Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>) = match &opts
        .hosts
    {
        None => timely::CommunicationConfig::Process(workers)
            .try_build()
            .map_err(|e| SearchError::Cluster(ClusterError::Timely(e)))?,
        Some(hosts) => {
            let sockets = connect(
                &hosts.addresses,
                hosts.process,
                &agreement(&search, workers),
                hosts.connect_timeout,
            )?;
            let hooks = Hooks::default();
            let local = ProcessBuilder::new_typed_vector(
                workers,
                hooks.refill.clone(),
                hooks.spill.clone(),
            );
            let (tcp, comms) =
                initialize_networking_from_sockets(local, sockets, hosts.process, workers, hooks)
                    .map_err(|e| SearchError::Cluster(ClusterError::Timely(e.to_string())))?;
            (
                tcp.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(comms),
            )
        }
    };
    let result: Arc<Mutex<Option<Result<Outcome, SearchError>>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&result);
    let guards = timely::execute::execute_from(
        builders,
        guard,
        timely::WorkerConfig::default(),
        move |worker| {
            let outcome = work(
                worker,
                workers,
                Arc::clone(&search),
                Arc::clone(&progress),
                started,
            );
            if let Ok(mut s) = slot.lock() {
                if s.is_none() || worker.index() % workers == 0 {
                    *s = Some(outcome);
                }
            }
        },
    )
    .map_err(|e| SearchError::Cluster(ClusterError::Timely(e)))?;
    for joined in guards.join() {
        joined.map_err(|e| SearchError::Worker(format!("a worker failed: {e}")))?;
    }
    let taken = result.lock().ok().and_then(|mut s| s.take());
    taken.unwrap_or_else(|| Err(SearchError::Worker("no worker reported".into())))
}
