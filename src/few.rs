//! A short list held inline: the per-line lists of a quote (`taxes`, `discount_amounts`) have
//! one entry or none on almost every line, and a `Vec` costs a heap allocation and a free per
//! line and list (issue 12: the two were ~40 of a 20-line quote's ~90 allocations). `Few`
//! holds no entry or one entry in place and spills into a `Vec` from the second on.
//!
//! It reads as a slice (`Deref<Target = [T]>`: `iter`, `len`, `first`, indexing, `&list` where a
//! `&[T]` is expected), serialises as a JSON array like a `Vec`, and compares by its entries.

use serde::{Serialize, Serializer};
use std::fmt;
use std::ops::{Deref, DerefMut};

/// A list of `T` with room for one entry without a heap allocation.
#[derive(Clone)]
pub struct Few<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    Empty,
    One(T),
    Many(Vec<T>),
}

impl<T> Few<T> {
    pub const fn new() -> Few<T> {
        Few(Repr::Empty)
    }

    /// Appends an entry (the second one moves both into a `Vec`).
    pub fn push(&mut self, value: T) {
        self.0 = match std::mem::replace(&mut self.0, Repr::Empty) {
            Repr::Empty => Repr::One(value),
            Repr::One(first) => Repr::Many(vec![first, value]),
            Repr::Many(mut all) => {
                all.push(value);
                Repr::Many(all)
            }
        };
    }

    /// The entries as a `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        match self.0 {
            Repr::Empty => Vec::new(),
            Repr::One(first) => vec![first],
            Repr::Many(all) => all,
        }
    }
}

impl<T> Default for Few<T> {
    fn default() -> Few<T> {
        Few::new()
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(first) => std::slice::from_ref(first),
            Repr::Many(all) => all,
        }
    }
}

impl<T> DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::Empty => &mut [],
            Repr::One(first) => std::slice::from_mut(first),
            Repr::Many(all) => all,
        }
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(all: Vec<T>) -> Few<T> {
        Few(Repr::Many(all))
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Few<T> {
        let mut list = Few::new();
        for item in items {
            list.push(item);
        }
        list
    }
}

impl<T> IntoIterator for Few<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Few<T>) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Few<T> {}

impl<T: PartialEq> PartialEq<Vec<T>> for Few<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

impl<T: fmt::Debug> fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_entries_in_order_inline_then_spilled() {
        let mut list = Few::new();
        assert!(list.is_empty());
        for i in 0..5 {
            list.push(i);
            assert_eq!(&*list, &(0..=i).collect::<Vec<_>>()[..]);
        }
        assert!(matches!(list.0, Repr::Many(_)));
        list[1] = 10;
        assert_eq!(list, vec![0, 10, 2, 3, 4]);
        assert_eq!(list.clone().into_vec(), vec![0, 10, 2, 3, 4]);
        let one: Few<i32> = std::iter::once(7).collect();
        assert!(matches!(one.0, Repr::One(7)));
        assert_eq!(format!("{one:?}"), "[7]");
        assert_eq!(serde_json::to_string(&one).unwrap(), "[7]");
        assert_eq!(serde_json::to_string(&Few::<i32>::new()).unwrap(), "[]");
        assert_eq!(Few::from(vec![1, 2]), Few::from_iter([1, 2]));
    }
}
