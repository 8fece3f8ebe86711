//! The copy-on-write node array: it behaves as a `Vec` under every operation the tree uses,
//! and a write to a clone copies one root-to-chunk path, leaving the rest shared.

use crate::tree::array::NodeArray;

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound.max(1) as u64) as usize
    }
}

fn assert_same(a: &NodeArray<u32>, model: &[u32], stride: usize) {
    assert_eq!(a.len() * stride, model.len());
    assert_eq!(a.to_flat(), model);
    for (i, want) in model.chunks(stride).enumerate() {
        assert_eq!(a.item(i), Some(want), "item {i}");
    }
    assert_eq!(a.item(a.len()), None);
}

#[test]
fn random_operations_match_a_vec() {
    for stride in [1usize, 3] {
        let mut rng = Lcg(stride as u64);
        let mut a = NodeArray::new(stride, 0u32);
        let mut model: Vec<u32> = Vec::new();
        for step in 0..3000u32 {
            match rng.next(10) {
                0 => {
                    let len = rng.next(20_000);
                    a.resize(len);
                    model.resize(len * stride, 0);
                }
                1 => {
                    // Keep a clone, change the original, and check the clone did not move.
                    let before = a.clone();
                    let snapshot = model.clone();
                    if !model.is_empty() {
                        let i = rng.next(a.len());
                        a.item_mut(i).unwrap()[0] = step + 1;
                        model[i * stride] = step + 1;
                    }
                    assert_same(&before, &snapshot, stride);
                }
                _ => {
                    if a.len() > 0 {
                        let i = rng.next(a.len());
                        let k = rng.next(stride);
                        a.item_mut(i).unwrap()[k] = step + 7;
                        model[i * stride + k] = step + 7;
                    }
                }
            }
            if step % 97 == 0 {
                assert_same(&a, &model, stride);
            }
        }
        assert_same(&a, &model, stride);
        let rebuilt = NodeArray::from_flat(stride, 0, &model);
        assert_same(&rebuilt, &model, stride);
    }
}

#[test]
fn shrinking_then_growing_shows_fill() {
    let mut a = NodeArray::filled(1, 9u32, 300);
    for i in 0..300 {
        a.set(i, i as u32);
    }
    a.resize(70);
    a.resize(5000);
    let flat = a.to_flat();
    assert_eq!(&flat[..70], &(0..70).collect::<Vec<u32>>()[..]);
    assert!(flat[70..].iter().all(|&x| x == 9));
}

#[test]
fn searches_find_the_first_and_last_match() {
    let mut a = NodeArray::filled(1, 0u32, 10_000);
    assert_eq!(a.rfind(|x| x[0] != 0), None);
    a.set(17, 1);
    a.set(6543, 1);
    assert_eq!(a.rfind(|x| x[0] != 0), Some(6543));
    assert_eq!(a.find_from(18, |x| x[0] != 0), Some(6543));
    assert_eq!(a.find_from(0, |x| x[0] != 0), Some(17));
    assert_eq!(a.find_from(6544, |x| x[0] != 0), None);
}

#[test]
fn a_write_to_a_clone_copies_one_path() {
    let n = 1 << 20;
    // Every chunk distinct, as a populated tree's are.
    let flat: Vec<u32> = (0..n as u32).collect();
    let base = NodeArray::from_flat(1, 0, &flat);
    let total = base.owned_chunks();
    assert!(total > n / 64);
    let mut staged = base.clone();
    assert_eq!(staged.owned_chunks(), 0);
    staged.set(123_456, 7);
    // The root, one inner chunk per level below it and one leaf chunk.
    assert_eq!(staged.owned_chunks(), staged.height() as usize + 1);
    assert_eq!(base.get(123_456), Some(&123_456));
    assert_eq!(staged.get(123_456), Some(&7));
    // Once the original is gone (a merge), the staged array owns every chunk alone.
    drop(base);
    assert_eq!(staged.owned_chunks(), total);
}
