//! The search on threads of one process sharing memory.
//!
//! Each level runs in two parallel phases. *Expand*: each worker takes chunks of the states it
//! built itself (then, when it has none left, other workers' chunks), generates their successors,
//! checks every open property on the new ones, drops those already visited (the visited set is
//! read-only during this phase) or already met by the same worker at a smaller path, and sorts
//! the rest by visited-set shard. The worker threads live for the whole search (the calling
//! thread is one of them), so a state is built, expanded and freed on one thread's allocator
//! heap. *Merge*: each worker owns some shards, orders their candidates by (parent position,
//! action index) — the path order, since the frontier is in path order — and inserts them; a
//! fingerprint's first candidate wins. The winners, sorted the same way, are the next frontier.
//! The visited set is locked once per phase (read by every worker while expanding, written while
//! merging), never per state. Which worker expands which state changes the work, never the
//! result: every candidate carries its path-order key and the smallest wins.
//!
//! It is not the multi-process search ([`super::cluster`]), which runs the same levels on timely
//! dataflow.

use super::fingerprint::Parts;
use super::progress::Progress;
use super::visited::{shard_of, Identity, Shard, Visited, SHARDS};
use super::{
    child_path, settle, Discovery, LevelHits, Outcome, Search, SearchError, Step, Successor, Worker,
};
use jpkisim_model::JpkiState;
use std::collections::hash_map::{Entry, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Frontier states a worker takes at a time.
const CHUNK: usize = 256;

/// A state on this search's frontier: kept as the Stateright state `next_state` built, so that it
/// is expanded without a round trip through [`super::packed::Packed`] (the multi-process search
/// packs its states for the wire; threads sharing memory need not).
struct Open {
    state: JpkiState,
    parts: Parts,
    path: Vec<Step>,
    /// The worker that built it, which expands it next level unless it has run out of work:
    /// the state's memory is then freed by the thread that allocated it, from its own cache.
    by: usize,
}

/// Per worker and level (and per claims shard): the first key (path order) at which each
/// fingerprint was met.
/// A worker may take chunks out of path order (its own first, then others'), so a later meeting
/// with a smaller key is a candidate again; the merge keeps the smallest.
type Firsts = HashMap<u64, u64, BuildHasherDefault<Identity>>;

/// Whether `key` is the first meeting of `fp` in path order so far (recording it if so).
fn first_meeting(firsts: &mut Firsts, fp: u64, key: u64) -> bool {
    match firsts.entry(fp) {
        Entry::Vacant(e) => {
            e.insert(key);
            true
        }
        Entry::Occupied(mut e) if key < *e.get() => {
            e.insert(key);
            true
        }
        Entry::Occupied(_) => false,
    }
}

/// A successor not yet known to be new, with its position in path order.
struct Candidate {
    /// Parent's position in the frontier, then the action index: the path order.
    key: u64,
    fp: u64,
    /// Boxed: candidates are moved while they are sorted into shards and levels.
    node: Box<Open>,
}

/// Which worker builds a new class: the one whose candidate comes first in path order. Without
/// it, two threads built each new class one time in three (measured on the default
/// configuration: 1.30 million states built for 0.87 million classes); a worker that finds a
/// smaller key already claimed does not build.
struct Claims {
    shards: Vec<Mutex<Firsts>>,
}

impl Default for Claims {
    fn default() -> Self {
        Claims {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
        }
    }
}

impl Claims {
    /// Forgets every claim, keeping the tables' room for the next level (a level's tables grow
    /// to its width; growing them again from empty every level paged in fresh memory each time).
    fn clear(&self) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.lock() {
                shard.clear();
            }
        }
    }

    /// Whether the candidate `key` for `fp` is the first in path order so far (it then replaces
    /// any later one).
    fn claim(&self, fp: u64, key: u64) -> bool {
        let Ok(mut shard) = self.shards[shard_of(fp)].lock() else {
            return true;
        };
        first_meeting(&mut shard, fp, key)
    }
}

/// What one worker produced in the expand phase.
struct Expanded {
    by_shard: Vec<Vec<Candidate>>,
    generated: u64,
    hits: LevelHits,
    error: Option<SearchError>,
}

/// Runs `search` on `threads` threads, printing progress on stderr every `progress` if given.
pub fn run(
    search: &Search,
    threads: usize,
    progress: Option<Duration>,
) -> Result<Outcome, SearchError> {
    let threads = threads.max(1);
    let started = Instant::now();
    let progress = Progress::new(progress, started);
    let n_props = search.properties.len();
    let mut open = vec![true; n_props];
    let mut discoveries: Vec<Option<Discovery>> = vec![None; n_props];
    let mut initial_visited = Visited::default();
    let mut frontier: Vec<Box<Open>> = Vec::new();
    let mut generated = 0u64;
    let mut hits = LevelHits::new(n_props);
    let bound = search.max_depth();
    for (fp, node) in search.initial() {
        generated += 1;
        if initial_visited.insert(fp) {
            if bound.is_none_or(|b| 1 < b) {
                search.decided_in(&node.state.unpack(), &open, |i| hits.offer(i, &node.path));
            }
            frontier.push(Box::new(Open {
                state: node.state.into_state(),
                parts: node.parts,
                path: node.path,
                by: 0,
            }));
        }
    }
    let mut any_open = settle(hits, 0, &mut open, &mut discoveries);
    let mut level = 0usize;
    let mut max_depth = 0usize;
    let mut complete = true;
    let mut widest = 0u64;
    // The calling thread's buffers and remembered steps; each helper keeps its own.
    let mut own = (Worker::default(), Firsts::default());
    // With one thread there is nobody to claim against: the worker's own `seen` set suffices.
    let claims = (threads > 1).then(Claims::default);
    let visited = RwLock::new(initial_visited);
    let progress = &progress;
    std::thread::scope(|scope| {
        let (done, results) = mpsc::channel::<Expanded>();
        let helpers: Vec<mpsc::Sender<Job>> = (1..threads)
            .map(|me| {
                let (jobs, inbox) = mpsc::channel::<Job>();
                let (done, visited, claims) = (done.clone(), &visited, claims.as_ref());
                scope.spawn(move || helper(search, me, inbox, done, visited, claims, progress));
                jobs
            })
            .collect();
        drop(done);
        while !frontier.is_empty() {
            let visited_len = visited.read().map_or(0, |v| v.len()) as u64;
            // Level `level` holds states at depth `level + 1` (the initial state counted as 1).
            max_depth = level + 1;
            widest = widest.max(frontier.len() as u64);
            progress.level(level, generated, visited_len);
            if search.stop_when_all_found && !any_open {
                complete = false;
                break;
            }
            if bound.is_some_and(|b| level + 1 >= b) {
                complete = false;
                break;
            }
            let check_children = bound.is_none_or(|b| level + 2 < b);
            if let Some(claims) = &claims {
                claims.clear();
            }
            let queue = Arc::new(chunks_of(std::mem::take(&mut frontier), threads));
            let open_now: Option<Arc<[bool]>> = check_children.then(|| Arc::from(&open[..]));
            for jobs in &helpers {
                let job = Job {
                    queue: Arc::clone(&queue),
                    open: open_now.clone(),
                };
                if jobs.send(job).is_err() {
                    return Err(SearchError::Worker("a worker thread stopped".into()));
                }
            }
            let mut outputs = Vec::with_capacity(threads);
            {
                let Ok(visited) = visited.read() else {
                    return Err(SearchError::Worker("a worker thread failed".into()));
                };
                let (worker, seen) = &mut own;
                outputs.push(expand_share(
                    search,
                    0,
                    &queue,
                    &visited,
                    open_now.as_deref(),
                    claims.as_ref(),
                    progress,
                    worker,
                    seen,
                ));
            }
            for _ in &helpers {
                match results.recv() {
                    Ok(out) => outputs.push(out),
                    Err(_) => return Err(SearchError::Worker("a worker thread stopped".into())),
                }
            }
            let mut hits = LevelHits::new(n_props);
            let mut by_shard: Vec<Vec<Vec<Candidate>>> = (0..SHARDS).map(|_| Vec::new()).collect();
            for out in outputs {
                if let Some(e) = out.error {
                    return Err(e);
                }
                generated += out.generated;
                hits.merge(out.hits);
                for (s, cands) in out.by_shard.into_iter().enumerate() {
                    by_shard[s].push(cands);
                }
            }
            any_open = settle(hits, level + 1, &mut open, &mut discoveries);
            let Ok(mut visited) = visited.write() else {
                return Err(SearchError::Worker("a worker thread failed".into()));
            };
            frontier = merge_level(&mut visited, by_shard, threads);
            level += 1;
        }
        Ok(())
    })?;
    let visited = visited
        .into_inner()
        .map_err(|_| SearchError::Worker("a worker thread failed".into()))?;
    progress.done(level, generated, visited.len() as u64);
    Ok(Outcome {
        generated,
        unique: visited.len() as u64,
        max_depth,
        discoveries,
        complete,
        visited_bytes: visited.bytes() as u64,
        remote_batches: 0,
        remote_bytes: 0,
        widest_level: widest,
        workers: threads,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A chunk of frontier states with their positions in path order.
type Chunk = Vec<(u64, Box<Open>)>;

/// The frontier in chunks, one queue per worker holding the states it built, each in path
/// order with the first chunk last (popped first).
type Queues = Vec<Mutex<Vec<Chunk>>>;

// Boxed: states move between the frontier, chunks and candidates by pointer.
#[allow(clippy::vec_box)]
fn chunks_of(frontier: Vec<Box<Open>>, workers: usize) -> Queues {
    let mut queues: Vec<Vec<Chunk>> = (0..workers).map(|_| Vec::new()).collect();
    let mut filling: Vec<Chunk> = (0..workers).map(|_| Vec::new()).collect();
    for (pos, node) in frontier.into_iter().enumerate() {
        let w = node.by % workers;
        filling[w].push((pos as u64, node));
        if filling[w].len() == CHUNK {
            queues[w].push(std::mem::take(&mut filling[w]));
        }
    }
    for (queue, rest) in queues.iter_mut().zip(filling) {
        if !rest.is_empty() {
            queue.push(rest);
        }
        queue.reverse();
    }
    queues.into_iter().map(Mutex::new).collect()
}

/// A level's expand phase, for a helper thread.
struct Job {
    queue: Arc<Queues>,
    /// Properties to check on new successors (none past the depth bound).
    open: Option<Arc<[bool]>>,
}

/// A helper thread: lives for the whole search (its allocator heap, step memo and buffers with
/// it) and takes a share of each level's expand phase. Threads started per level left each
/// level's states on the pages of a heap that had ended (perf: mimalloc's collection of freed
/// blocks and fresh pages; docs/performance.md).
fn helper(
    search: &Search,
    me: usize,
    inbox: mpsc::Receiver<Job>,
    done: mpsc::Sender<Expanded>,
    visited: &RwLock<Visited>,
    claims: Option<&Claims>,
    progress: &Progress,
) {
    let (mut worker, mut seen) = (Worker::default(), Firsts::default());
    for job in inbox {
        let out = match visited.read() {
            Ok(visited) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                expand_share(
                    search,
                    me,
                    &job.queue,
                    &visited,
                    job.open.as_deref(),
                    claims,
                    progress,
                    &mut worker,
                    &mut seen,
                )
            }))
            .unwrap_or_else(|_| failed("a worker thread panicked")),
            Err(_) => failed("a worker thread failed"),
        };
        let stop = out.error.is_some();
        if done.send(out).is_err() || stop {
            return;
        }
    }
}

fn failed(why: &str) -> Expanded {
    Expanded {
        by_shard: Vec::new(),
        generated: 0,
        hits: LevelHits::default(),
        error: Some(SearchError::Worker(why.into())),
    }
}

/// One worker's share of a level's expand phase: properties in `open` are checked on new
/// successors.
#[allow(clippy::too_many_arguments)]
fn expand_share(
    search: &Search,
    me: usize,
    queue: &Queues,
    visited: &Visited,
    open: Option<&[bool]>,
    claims: Option<&Claims>,
    progress: &Progress,
    worker: &mut Worker,
    seen: &mut Firsts,
) -> Expanded {
    let mut out = Expanded {
        by_shard: (0..SHARDS).map(|_| Vec::new()).collect(),
        generated: 0,
        hits: LevelHits::new(search.properties.len()),
        error: None,
    };
    seen.clear();
    if let Err(e) = expand_chunks(
        search, me, queue, visited, open, claims, progress, worker, seen, &mut out,
    ) {
        out.error = Some(e);
    }
    out
}

/// Runs `work` on each of `items`, the first on the calling thread and the others on threads
/// started for the call; returns the results in order. The calling thread takes a share because
/// its allocator heap outlives the level: the states a level builds there are freed into pages
/// the next level reuses, where a thread that ends hands its pages back (measured: with every
/// share on a fresh thread, the kernel zeroing fresh pages was 14 % of a one-thread search).
fn on_threads<I: Send, R: Send>(items: &mut [I], work: impl Fn(&mut I) -> R + Sync) -> Vec<R> {
    let Some((first, others)) = items.split_first_mut() else {
        return Vec::new();
    };
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .iter_mut()
            .map(|item| scope.spawn(move || work(item)))
            .collect();
        let mut results = vec![work(first)];
        results.extend(handles.into_iter().map(|h| match h.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }));
        results
    })
}

#[allow(clippy::too_many_arguments)]
fn expand_chunks(
    search: &Search,
    me: usize,
    queues: &Queues,
    visited: &Visited,
    open: Option<&[bool]>,
    claims: Option<&Claims>,
    progress: &Progress,
    worker: &mut Worker,
    seen: &mut Firsts,
    out: &mut Expanded,
) -> Result<(), SearchError> {
    loop {
        // Its own chunks first, then any other worker's.
        let next = (0..queues.len())
            .map(|k| (me + k) % queues.len())
            .find_map(|w| queues[w].lock().map(|mut q| q.pop()).unwrap_or(None));
        let Some(nodes) = next else {
            return Ok(());
        };
        let before = out.generated;
        for (pos, node) in nodes {
            let Open {
                state: mut parent,
                parts,
                path,
                ..
            } = *node;
            let by_shard = &mut out.by_shard;
            let hits = &mut out.hits;
            out.generated +=
                search.successors(&mut parent, &parts, worker, |w, parent, succ| {
                    let fp = succ.fp();
                    let step = succ.step();
                    let key = (pos << 16) | u64::from(step);
                    if !first_meeting(seen, fp, key) || visited.contains(fp) {
                        return Ok(());
                    }
                    if claims.is_some_and(|c| !c.claim(fp, key)) {
                        return Ok(());
                    }
                    let (state, child_parts) = match succ {
                        Successor::Glimpsed { step, fp } => {
                            search.build(parent, &parts, step, fp, true, w)?
                        }
                        Successor::Built { state, parts, .. } => (state, parts),
                    };
                    let path = child_path(&path, step);
                    if let Some(open) = open {
                        search.decided_in(&state, open, |i| hits.offer(i, &path));
                    }
                    by_shard[shard_of(fp)].push(Candidate {
                        key,
                        fp,
                        node: Box::new(Open {
                            state,
                            parts: child_parts,
                            path,
                            by: me,
                        }),
                    });
                    Ok(())
                })?;
        }
        progress.generated(out.generated - before);
    }
}

/// A shard with the candidate lists it must merge, one list per expanding thread.
type ShardWork<'a> = (&'a mut Shard, Vec<Vec<Candidate>>);

/// The merge phase: inserts each shard's candidates in path order; returns the next frontier in
/// path order.
// A frontier entry is boxed so that moving frontiers between levels and threads moves pointers,
// not whole open states.
#[allow(clippy::vec_box)]
fn merge_level(
    visited: &mut Visited,
    by_shard: Vec<Vec<Vec<Candidate>>>,
    threads: usize,
) -> Vec<Box<Open>> {
    let work: Mutex<Vec<ShardWork<'_>>> = Mutex::new(
        visited
            .shards_mut()
            .iter_mut()
            .zip(by_shard)
            .filter(|(_, c)| c.iter().any(|v| !v.is_empty()))
            .collect(),
    );
    let mut shares: Vec<()> = vec![(); threads];
    let mut winners: Vec<Candidate> = on_threads(&mut shares, |_| {
        let mut won = Vec::new();
        loop {
            let next = work.lock().map(|mut w| w.pop()).unwrap_or(None);
            let Some((shard, lists)) = next else { break };
            let mut cands: Vec<Candidate> = lists.into_iter().flatten().collect();
            cands.sort_unstable_by_key(|c| c.key);
            // Room for every candidate at once: one resize, not a doubling series.
            shard.reserve(cands.len());
            for c in cands {
                if shard.insert(c.fp) {
                    won.push(c);
                }
            }
        }
        won
    })
    .into_iter()
    .flatten()
    .collect();
    // Path order: sort keys, not the (large) candidates themselves.
    let mut order: Vec<(u64, u32)> = winners
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key, i as u32))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<Box<Open>>> = winners.drain(..).map(|c| Some(c.node)).collect();
    order
        .into_iter()
        .filter_map(|(_, i)| slots[i as usize].take())
        .collect()
}
