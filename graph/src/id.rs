//! Typed indices. A [`TargetId`] is a target's place in the model it came from; a vector
//! with one entry per target is indexed by it directly (`hashes[id]`), and a `usize` cannot
//! be passed where a target is meant. Ids of different models (the base and the head) are
//! not comparable: match targets across models by label.

/// Declares a typed index: a `u32` newtype that indexes vectors and slices.
#[macro_export]
macro_rules! typed_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// The id of the `i`th entry.
            pub fn from_index(i: usize) -> Self {
                $name(u32::try_from(i).expect(concat!("fewer than 2^32 ", stringify!($name), "s")))
            }

            /// Its position in the vector it indexes.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The ids of a vector of `n` entries, in order.
            pub fn all(n: usize) -> impl DoubleEndedIterator<Item = $name> + ExactSizeIterator + Clone {
                (0..n).map($name::from_index)
            }
        }

        impl<T> std::ops::Index<$name> for [T] {
            type Output = T;
            fn index(&self, id: $name) -> &T {
                &self[id.index()]
            }
        }

        impl<T> std::ops::IndexMut<$name> for [T] {
            fn index_mut(&mut self, id: $name) -> &mut T {
                &mut self[id.index()]
            }
        }

        impl<T> std::ops::Index<$name> for Vec<T> {
            type Output = T;
            fn index(&self, id: $name) -> &T {
                &self[id.index()]
            }
        }

        impl<T> std::ops::IndexMut<$name> for Vec<T> {
            fn index_mut(&mut self, id: $name) -> &mut T {
                &mut self[id.index()]
            }
        }
    };
}

typed_index!(
    /// A target's place in its model: `Model::targets[id]`.
    TargetId
);

/// As its index (the index's saved model holds ids of the model it was saved with).
impl serde::Serialize for TargetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TargetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(TargetId)
    }
}

#[cfg(test)]
mod tests {
    use super::TargetId;

    #[test]
    fn an_id_indexes_the_vector_it_was_made_for() {
        let mut v = vec!["a", "b", "c"];
        let ids: Vec<TargetId> = TargetId::all(v.len()).collect();
        assert_eq!(ids.len(), 3);
        v[ids[1]] = "B";
        assert_eq!(v[ids[1]], "B");
        assert_eq!(ids[2].index(), 2);
        assert_eq!(TargetId::from_index(2), ids[2]);
        let s: &[&str] = &v;
        assert_eq!(s[ids[0]], "a");
    }
}
