//! Copy-on-write storage for the tree's per-node arrays (the array layout of Appendix C).
//!
//! A staged commit works on a copy of the group's tree, so copying must not cost O(N): a
//! [`NodeArray`] is a persistent radix tree with fan-out 64. Cloning it is one reference-count
//! increment; writing an item copies only the chunks on the way to it (at most four levels of
//! 64 entries below 2^24 items), and chunks nobody wrote stay shared between the group's tree
//! and its staged successor. Merging the staged tree is then a plain move.
//!
//! Each item is `stride` consecutive elements (one node pointer, or one cached hash with its
//! dirty byte), so a chunk never splits an item. Elements past the length always hold the
//! array's `fill` value, so growing only has to add chunks, and all-`fill` chunks created by
//! growing share one allocation until written.

use std::sync::Arc;

/// log2 of the fan-out and of the items per leaf chunk.
const BITS: u32 = 6;
/// Items per leaf chunk and children per inner chunk.
const WIDTH: usize = 1 << BITS;

/// One level of the radix tree.
#[derive(Debug, Clone)]
enum Chunk<T> {
    /// `WIDTH * stride` elements, always full length (padded with `fill`).
    Leaf(Vec<T>),
    /// Children covering consecutive equal ranges; only as many as the length needs.
    Inner(Vec<Arc<Chunk<T>>>),
}

/// A persistent array of fixed-stride items with O(1) clone and O(log N) writes.
#[derive(Debug, Clone)]
pub(super) struct NodeArray<T> {
    len: usize,
    stride: usize,
    /// Inner levels above the leaf chunks; the root covers `WIDTH^(height + 1)` items.
    height: u32,
    root: Arc<Chunk<T>>,
    /// A leaf chunk of `fill` only, shared by every chunk that growing creates.
    blank: Arc<Chunk<T>>,
    fill: T,
}

/// Items covered by one chunk at `level` (0 = leaf chunk).
fn coverage(level: u32) -> usize {
    1usize << (BITS * (level + 1))
}

impl<T: Clone> NodeArray<T> {
    /// An empty array whose items are `stride` elements, unused elements holding `fill`.
    pub(super) fn new(stride: usize, fill: T) -> Self {
        let blank = Arc::new(Chunk::Leaf(vec![fill.clone(); WIDTH * stride.max(1)]));
        NodeArray {
            len: 0,
            stride: stride.max(1),
            height: 0,
            root: blank.clone(),
            blank,
            fill,
        }
    }

    /// An array holding `len` items of `fill`.
    pub(super) fn filled(stride: usize, fill: T, len: usize) -> Self {
        let mut a = Self::new(stride, fill);
        a.resize(len);
        a
    }

    /// An array of the items in `flat` (`flat.len() / stride` of them), built in one pass.
    #[cfg(test)]
    pub(super) fn from_flat(stride: usize, fill: T, flat: &[T]) -> Self {
        Self::from_vec(stride, fill, flat.to_vec())
    }

    /// An array of the items in `flat` (`flat.len() / stride` of them), moved into chunks
    /// in one pass.
    pub(super) fn from_vec(stride: usize, fill: T, flat: Vec<T>) -> Self {
        let mut a = Self::new(stride, fill);
        let stride = a.stride;
        let len = flat.len() / stride;
        let per_chunk = WIDTH * stride;
        let mut level: Vec<Arc<Chunk<T>>> = Vec::with_capacity(flat.len().div_ceil(per_chunk));
        let mut elements = flat.into_iter().take(len * stride).peekable();
        while elements.peek().is_some() {
            let mut v: Vec<T> = elements.by_ref().take(per_chunk).collect();
            v.resize(per_chunk, a.fill.clone());
            level.push(Arc::new(Chunk::Leaf(v)));
        }
        let mut height = 0;
        while level.len() > 1 {
            level = level
                .chunks(WIDTH)
                .map(|c| Arc::new(Chunk::Inner(c.to_vec())))
                .collect();
            height += 1;
        }
        if let Some(root) = level.pop() {
            a.root = root;
            a.height = height;
            a.len = len;
        }
        a
    }

    /// The number of items.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Item `i` as its `stride` elements, or `None` past the end.
    pub(super) fn item(&self, i: usize) -> Option<&[T]> {
        if i >= self.len {
            return None;
        }
        let mut node = &*self.root;
        let mut level = self.height;
        loop {
            match node {
                Chunk::Leaf(v) => {
                    let at = (i & (WIDTH - 1)) * self.stride;
                    return v.get(at..at + self.stride);
                }
                Chunk::Inner(children) => {
                    node = children.get((i >> (BITS * level)) & (WIDTH - 1))?;
                    level = level.checked_sub(1)?;
                }
            }
        }
    }

    /// The first element of item `i` (for stride-1 arrays).
    pub(super) fn get(&self, i: usize) -> Option<&T> {
        self.item(i)?.first()
    }

    /// Item `i` for writing: the chunks on its path are copied if they are shared.
    pub(super) fn item_mut(&mut self, i: usize) -> Option<&mut [T]> {
        if i >= self.len {
            return None;
        }
        let stride = self.stride;
        let mut node = Arc::make_mut(&mut self.root);
        let mut level = self.height;
        loop {
            match node {
                Chunk::Leaf(v) => {
                    let at = (i & (WIDTH - 1)) * stride;
                    return v.get_mut(at..at + stride);
                }
                Chunk::Inner(children) => {
                    let child = children.get_mut((i >> (BITS * level)) & (WIDTH - 1))?;
                    node = Arc::make_mut(child);
                    level = level.checked_sub(1)?;
                }
            }
        }
    }

    /// The first element of item `i` for writing (for stride-1 arrays).
    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.item_mut(i)?.first_mut()
    }

    /// Set the first element of item `i` (in range; otherwise nothing happens).
    pub(super) fn set(&mut self, i: usize, value: T) {
        if let Some(slot) = self.get_mut(i) {
            *slot = value;
        }
    }

    /// The leaf chunks in item order, each cut to the items in range.
    pub(super) fn chunks(&self) -> Vec<&[T]> {
        fn walk<'a, T>(node: &'a Chunk<T>, out: &mut Vec<&'a [T]>) {
            match node {
                Chunk::Leaf(v) => out.push(v),
                Chunk::Inner(children) => children.iter().for_each(|c| walk(c, out)),
            }
        }
        let mut out = Vec::with_capacity(self.len.div_ceil(WIDTH));
        if self.len > 0 {
            walk(&self.root, &mut out);
        }
        let mut left = self.len * self.stride;
        for c in out.iter_mut() {
            let take = c.len().min(left);
            *c = &c[..take];
            left -= take;
        }
        out.retain(|c| !c.is_empty());
        out
    }

    /// Every element in order (`len * stride` of them).
    pub(super) fn elements(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.chunks().into_iter().flatten()
    }

    /// All elements copied into one flat vector.
    pub(super) fn to_flat(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len * self.stride);
        for c in self.chunks() {
            out.extend_from_slice(c);
        }
        out
    }

    /// Grow with `fill` items or drop items from the end.
    pub(super) fn resize(&mut self, len: usize) {
        if len > self.len {
            while coverage(self.height) < len {
                let old = std::mem::replace(&mut self.root, self.blank.clone());
                self.root = Arc::new(Chunk::Inner(vec![old]));
                self.height += 1;
            }
            let blank = self.blank.clone();
            grow(&mut self.root, self.height, len, &blank);
        } else if len < self.len {
            let fill = self.fill.clone();
            shrink(
                &mut self.root,
                self.height,
                len,
                self.len,
                self.stride,
                &fill,
            );
            while self.height > 0 {
                let only = match &*self.root {
                    Chunk::Inner(children) if children.len() <= 1 => children.first().cloned(),
                    _ => break,
                };
                self.root = only.unwrap_or_else(|| self.blank.clone());
                self.height -= 1;
            }
        }
        self.len = len;
    }

    /// The first item at or after `start` for which `pred` holds.
    pub(super) fn find_from(&self, start: usize, pred: impl Fn(&[T]) -> bool) -> Option<usize> {
        (start..self.len).find(|&i| self.item(i).is_some_and(&pred))
    }

    /// The last item for which `pred` holds, scanning chunk by chunk from the end.
    pub(super) fn rfind(&self, pred: impl Fn(&[T]) -> bool) -> Option<usize> {
        let chunks = self.chunks();
        let mut end = self.len;
        for c in chunks.iter().rev() {
            let n = c.len() / self.stride;
            let start = end - n;
            if let Some(k) = c.chunks_exact(self.stride).rposition(&pred) {
                return Some(start + k);
            }
            end = start;
        }
        None
    }

    /// How many chunks only this array holds (tests check that a write to a clone copies
    /// one path, not the array).
    #[cfg(test)]
    pub(super) fn owned_chunks(&self) -> usize {
        fn walk<T>(node: &Arc<Chunk<T>>) -> usize {
            if Arc::strong_count(node) > 1 {
                return 0;
            }
            1 + match &**node {
                Chunk::Leaf(_) => 0,
                Chunk::Inner(c) => c.iter().map(walk).sum(),
            }
        }
        walk(&self.root)
    }

    /// The number of inner levels (tests bound the copy of a write by it).
    #[cfg(test)]
    pub(super) fn height(&self) -> u32 {
        self.height
    }

    /// Heap bytes held, counting each chunk once per reference except the shared blank one.
    pub(super) fn memory_bytes(&self) -> usize {
        fn walk<T>(node: &Arc<Chunk<T>>, blank: &Arc<Chunk<T>>) -> usize {
            if Arc::ptr_eq(node, blank) {
                return 0;
            }
            let header = 2 * core::mem::size_of::<usize>() + core::mem::size_of::<Chunk<T>>();
            header
                + match &**node {
                    Chunk::Leaf(v) => v.capacity() * core::mem::size_of::<T>(),
                    Chunk::Inner(c) => {
                        c.capacity() * core::mem::size_of::<usize>()
                            + c.iter().map(|c| walk(c, blank)).sum::<usize>()
                    }
                }
        }
        walk(&self.root, &self.blank)
    }
}

/// Add children to `node` (at `level`) until it covers `len` items of its range.
fn grow<T: Clone>(node: &mut Arc<Chunk<T>>, level: u32, len: usize, blank: &Arc<Chunk<T>>) {
    if level == 0 {
        return;
    }
    let child = coverage(level - 1);
    let need = len.div_ceil(child);
    let Chunk::Inner(children) = Arc::make_mut(node) else {
        return;
    };
    let base = children.len().saturating_sub(1) * child;
    if let Some(last) = children.last_mut() {
        if len > base {
            grow(last, level - 1, (len - base).min(child), blank);
        }
    }
    while children.len() < need {
        let base = children.len() * child;
        let mut c = if level == 1 {
            blank.clone()
        } else {
            Arc::new(Chunk::Inner(Vec::new()))
        };
        grow(&mut c, level - 1, (len - base).min(child), blank);
        children.push(c);
    }
}

/// Cut `node` (at `level`) to `len` of its `old` items, refilling the tail of a partial chunk.
fn shrink<T: Clone>(
    node: &mut Arc<Chunk<T>>,
    level: u32,
    len: usize,
    old: usize,
    stride: usize,
    fill: &T,
) {
    let span = coverage(level);
    let old = old.min(span);
    if len >= old {
        return;
    }
    match Arc::make_mut(node) {
        Chunk::Leaf(v) => {
            for e in &mut v[len * stride..old * stride] {
                *e = fill.clone();
            }
        }
        Chunk::Inner(children) => {
            let child = coverage(level - 1);
            children.truncate(len.div_ceil(child));
            if !len.is_multiple_of(child) {
                if let Some(last) = children.last_mut() {
                    let base = (len / child) * child;
                    shrink(last, level - 1, len - base, old - base, stride, fill);
                }
            }
        }
    }
}
