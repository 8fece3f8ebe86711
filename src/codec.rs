//! The TLS presentation language with MLS variable-length vectors (RFC 9420 §2.1).
//!
//! [`Encode`] and [`Decode`] are implemented for the integer types, `Option<T>` (`optional<T>`),
//! `Vec<T>` (`T items<V>`), fixed arrays (`opaque[N]`) and [`Bytes`] (`opaque data<V>`). Wire
//! structs are declared with `codec_struct!` so that each field is written once; registries use
//! `codec_registry!` (unknown values survive) and closed enums use `codec_enum!` (unknown
//! values are rejected).
//!
//! Decoding never allocates more than the input justifies: every vector is bounded by its
//! length prefix, which must fit in the remaining input before anything is read.

use crate::error::DecodeError;
use core::fmt;

/// How deeply vectors may nest before decoding gives up.
pub const MAX_DEPTH: u16 = 32;

/// Largest length a variable-length integer can carry (2^30 - 1, §2.1.2).
pub const MAX_VARINT: u64 = (1 << 30) - 1;

/// A value with an MLS wire encoding.
pub trait Encode {
    /// Append the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The length of the encoding, so that buffers are allocated once instead of growing by
    /// doubling. Exact for every type the codec macros declare whose fields report theirs; a
    /// type that does not override it reports 0, and vectors holding it fall back to
    /// measuring their body (never a wrong encoding, only a slower one).
    fn encoded_len(&self) -> usize {
        0
    }

    /// The encoding of `self` as a new byte vector, allocated once at [`Encode::encoded_len`].
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

/// Length of the varint prefix of a vector of `len` bytes (§2.1.2).
pub fn varint_len(len: usize) -> usize {
    match len {
        0..=63 => 1,
        64..=16383 => 2,
        _ => 4,
    }
}

/// A value that can be read from its MLS wire encoding.
pub trait Decode: Sized {
    /// Read one value from the front of `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decode a value that must fill `bytes` exactly; trailing bytes are an error.
    fn decode_exact(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// A cursor over untrusted input that tracks nesting depth.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    depth: u16,
}

impl<'a> Reader<'a> {
    /// A reader over `buf` at depth zero.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, depth: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// Whether all input has been consumed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fail with [`DecodeError::TrailingBytes`] unless all input was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    /// Take exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Take a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Read a variable-length integer (§2.1.2), rejecting non-minimal encodings.
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let first = *self.buf.first().ok_or(DecodeError::UnexpectedEnd)?;
        let len = 1usize << (first >> 6);
        if len == 8 {
            return Err(DecodeError::InvalidLengthPrefix);
        }
        let bytes = self.take(len)?;
        let mut v = u64::from(bytes[0] & 0x3f);
        for b in &bytes[1..] {
            v = (v << 8) | u64::from(*b);
        }
        let minimal = match len {
            1 => true,
            2 => v >= 64,
            _ => v >= 16384,
        };
        if !minimal {
            return Err(DecodeError::NonMinimalLength);
        }
        Ok(v)
    }

    /// Read a length-prefixed byte string (`opaque data<V>`), borrowing from the input.
    pub fn vec_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        if len > self.buf.len() as u64 {
            return Err(DecodeError::LengthTooLarge);
        }
        self.take(len as usize)
    }

    /// Read a length-prefixed vector whose items are decoded by `item` from a sub-reader.
    ///
    /// Every item must consume at least one byte, so the item count is bounded by the input.
    pub fn vec_with<T>(
        &mut self,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let body = self.vec_bytes()?;
        if self.depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut sub = Reader {
            buf: body,
            depth: self.depth + 1,
        };
        let mut out = Vec::new();
        while !sub.is_empty() {
            let before = sub.buf.len();
            out.push(item(&mut sub)?);
            if sub.buf.len() == before {
                return Err(DecodeError::Malformed("zero-length vector item"));
            }
        }
        Ok(out)
    }

    /// Read a length-prefixed vector of `T`.
    pub fn vec<T: Decode>(&mut self) -> Result<Vec<T>, DecodeError> {
        self.vec_with(T::decode)
    }
}

/// Append a variable-length integer (§2.1.2). Values above [`MAX_VARINT`] cannot be encoded;
/// callers never build such vectors (they would be 1 GiB), so this saturates defensively.
pub fn write_varint(out: &mut Vec<u8>, v: u64) {
    debug_assert!(v <= MAX_VARINT, "vector too long for MLS varint");
    let v = v.min(MAX_VARINT);
    if v < 64 {
        out.push(v as u8);
    } else if v < 16384 {
        out.extend_from_slice(&((v as u16) | 0x4000).to_be_bytes());
    } else {
        out.extend_from_slice(&((v as u32) | 0x8000_0000).to_be_bytes());
    }
}

/// Append `opaque data<V>`.
pub fn write_vec_bytes(out: &mut Vec<u8>, data: &[u8]) {
    write_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Append a vector whose body is produced by `body`, prefixing its length.
pub fn write_vec_with(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    write_vec_sized(out, 0, body);
}

/// [`write_vec_with`] for a body expected to be `hint` bytes long: the prefix is written
/// first and the body in place, so nothing is copied when the hint is right; a wrong hint
/// costs one move of the body behind a corrected prefix.
pub fn write_vec_sized(out: &mut Vec<u8>, hint: usize, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    write_varint(out, hint as u64);
    let body_start = out.len();
    out.reserve(hint);
    body(out);
    let actual = out.len() - body_start;
    if actual != hint {
        let tail = out.split_off(body_start);
        out.truncate(start);
        write_vec_bytes(out, &tail);
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn encoded_len(&self) -> usize {
                core::mem::size_of::<$t>()
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64);

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn encoded_len(&self) -> usize {
        N
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

/// `optional<T>`: a presence octet (0 or 1) followed by the value.
impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        1 + self.as_ref().map_or(0, Encode::encoded_len)
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            _ => Err(DecodeError::Malformed("optional presence octet")),
        }
    }
}

/// `T items<V>`: a varint byte length followed by the items.
impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        let body = self.iter().map(Encode::encoded_len).sum();
        write_vec_sized(out, body, |b| self.iter().for_each(|x| x.encode(b)));
    }
    fn encoded_len(&self) -> usize {
        let body: usize = self.iter().map(Encode::encoded_len).sum();
        varint_len(body) + body
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.vec()
    }
}

/// `opaque data<V>`: public bytes with a varint length prefix.
#[derive(Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes as a slice.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() <= 64 {
            for b in &self.0 {
                write!(f, "{b:02x}")?;
            }
            Ok(())
        } else {
            write!(f, "{} bytes", self.0.len())
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Encode for Bytes {
    fn encode(&self, out: &mut Vec<u8>) {
        write_vec_bytes(out, &self.0);
    }
    fn encoded_len(&self) -> usize {
        varint_len(self.0.len()) + self.0.len()
    }
}

impl Decode for Bytes {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Bytes(r.vec_bytes()?.to_vec()))
    }
}

/// Declare a wire struct whose fields are encoded in order (RFC `struct { ... }`).
///
/// Attributes (docs, derives) pass through; every field type must implement
/// [`Encode`] and [`Decode`].
#[macro_export]
macro_rules! codec_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),*
        }

        impl $crate::codec::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::codec::Encode::encode(&self.$field, out); )*
            }
            fn encoded_len(&self) -> usize {
                0 $( + $crate::codec::Encode::encoded_len(&self.$field) )*
            }
        }

        impl $crate::codec::Decode for $name {
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::codec::Reader<'_>)
                -> ::core::result::Result<Self, $crate::error::DecodeError> {
                Ok($name { $( $field: $crate::codec::Decode::decode(r)?, )* })
            }
        }
    };
}

/// Declare an IANA registry as a newtype over its integer, with named constants.
///
/// Unknown values decode and re-encode unchanged (GREASE and future values survive).
#[macro_export]
macro_rules! codec_registry {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($int:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $val:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $int);

        impl $name {
            $( $(#[$cmeta])* pub const $const: $name = $name($val); )*

            /// The registry name of this value, if it is a known one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $val => Some(stringify!($const)), )*
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}(0x{:04x})", stringify!($name), self.0),
                }
            }
        }

        impl $crate::codec::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::codec::Encode::encode(&self.0, out)
            }
            fn encoded_len(&self) -> usize {
                ::core::mem::size_of::<$int>()
            }
        }

        impl $crate::codec::Decode for $name {
            fn decode(r: &mut $crate::codec::Reader<'_>)
                -> ::core::result::Result<Self, $crate::error::DecodeError> {
                Ok($name($crate::codec::Decode::decode(r)?))
            }
        }
    };
}

/// Declare a closed enum whose unknown values are rejected on decode.
#[macro_export]
macro_rules! codec_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $int:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $val:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($int)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $val ),*
        }

        impl $crate::codec::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::codec::Encode::encode(&(*self as $int), out)
            }
            fn encoded_len(&self) -> usize {
                ::core::mem::size_of::<$int>()
            }
        }

        impl $crate::codec::Decode for $name {
            fn decode(r: &mut $crate::codec::Reader<'_>)
                -> ::core::result::Result<Self, $crate::error::DecodeError> {
                let v: $int = $crate::codec::Decode::decode(r)?;
                match v {
                    $( x if x == $val => Ok($name::$variant), )*
                    _ => Err($crate::error::DecodeError::UnknownValue(stringify!($name))),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests;
