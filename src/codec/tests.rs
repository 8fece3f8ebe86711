use super::*;

#[test]
fn varint_round_trip_and_boundaries() {
    for v in [0u64, 1, 63, 64, 16383, 16384, MAX_VARINT] {
        let mut out = Vec::new();
        write_varint(&mut out, v);
        assert_eq!(Reader::new(&out).varint().unwrap(), v);
    }
}

#[test]
fn varint_rejects_non_minimal_and_reserved_prefix() {
    // §2.1.2: 0x4001 encodes 1 in two bytes; minimal is one byte.
    assert_eq!(
        Reader::new(&[0x40, 0x01]).varint(),
        Err(DecodeError::NonMinimalLength)
    );
    assert_eq!(
        Reader::new(&[0x80, 0x00, 0x00, 0x3f]).varint(),
        Err(DecodeError::NonMinimalLength)
    );
    assert_eq!(
        Reader::new(&[0xc0, 0, 0, 0, 0, 0, 0, 1]).varint(),
        Err(DecodeError::InvalidLengthPrefix)
    );
    assert_eq!(
        Reader::new(&[0x40]).varint(),
        Err(DecodeError::UnexpectedEnd)
    );
}

#[test]
fn oversized_length_is_rejected_without_allocating() {
    // A 1 GiB length prefix over a 4-byte input.
    let input = [0xbf, 0xff, 0xff, 0xff];
    assert_eq!(
        Bytes::decode_exact(&input),
        Err(DecodeError::LengthTooLarge)
    );
    assert_eq!(
        Vec::<u32>::decode_exact(&input),
        Err(DecodeError::LengthTooLarge)
    );
}

#[test]
fn trailing_bytes_and_truncation() {
    assert_eq!(
        u16::decode_exact(&[0, 1, 2]),
        Err(DecodeError::TrailingBytes)
    );
    assert_eq!(
        u32::decode_exact(&[0, 1, 2]),
        Err(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        Bytes::decode_exact(&[3, 1, 2]),
        Err(DecodeError::LengthTooLarge)
    );
}

#[test]
fn vector_items_must_fill_the_vector() {
    // A vector of u16 whose body is 3 bytes: the last item is truncated.
    assert_eq!(
        Vec::<u16>::decode_exact(&[3, 0, 1, 2]),
        Err(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        Vec::<u16>::decode_exact(&[4, 0, 1, 0, 2]).unwrap(),
        vec![1, 2]
    );
}

#[test]
fn nesting_depth_is_capped() {
    // Vec<Vec<...>> nested beyond MAX_DEPTH: each level is a one-byte-longer prefix.
    let mut data = vec![0u8];
    for _ in 0..(MAX_DEPTH as usize + 2) {
        let mut next = Vec::new();
        write_vec_bytes(&mut next, &data);
        data = next;
    }
    let mut r = Reader::new(&data);
    fn nest(r: &mut Reader<'_>) -> Result<(), DecodeError> {
        r.vec_with(|s| nest(s).map(|_| 0u8)).map(|_| ())
    }
    assert_eq!(nest(&mut r), Err(DecodeError::TooDeep));
}

#[test]
fn optional_presence_octet() {
    assert_eq!(Option::<u8>::decode_exact(&[0]).unwrap(), None);
    assert_eq!(Option::<u8>::decode_exact(&[1, 7]).unwrap(), Some(7));
    assert!(matches!(
        Option::<u8>::decode_exact(&[2, 7]),
        Err(DecodeError::Malformed(_))
    ));
}

crate::codec_enum! {
    /// Test enum.
    enum Colour: u8 { Red = 1, Blue = 2 }
}

crate::codec_registry! {
    /// Test registry.
    struct Kind(u16) { A = 1 }
}

#[test]
fn closed_enums_reject_unknown_registries_keep_them() {
    assert_eq!(Colour::decode_exact(&[2]).unwrap(), Colour::Blue);
    assert!(matches!(
        Colour::decode_exact(&[3]),
        Err(DecodeError::UnknownValue(_))
    ));
    let k = Kind::decode_exact(&[0x0a, 0x0a]).unwrap();
    assert_eq!(k.to_bytes(), vec![0x0a, 0x0a]);
    assert_eq!(Kind::A.name(), Some("A"));
    let _ = Colour::Red;
}

/// An item that reports no length hint (the trait's default), to drive the fallback.
struct Unhinted(Vec<u8>);

impl Encode for Unhinted {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[test]
fn vectors_encode_in_place_with_right_and_wrong_length_hints() {
    // Right hint: prefix written first, body in place.
    let items: Vec<Bytes> = (0..100u8).map(|i| Bytes(vec![i; i as usize])).collect();
    let mut expected = Vec::new();
    let body: Vec<u8> = items.iter().flat_map(|b| b.to_bytes()).collect();
    write_vec_bytes(&mut expected, &body);
    assert_eq!(items.encoded_len(), expected.len());
    assert_eq!(items.to_bytes(), expected);

    // Wrong hint (0 for every item): the body is moved behind a corrected prefix, after
    // whatever the buffer already held.
    let unhinted: Vec<Unhinted> = (0..100u8).map(|i| Unhinted(vec![i; 3])).collect();
    let body: Vec<u8> = (0..100u8).flat_map(|i| [i; 3]).collect();
    let mut out = vec![0xaa];
    unhinted.encode(&mut out);
    let mut expected = vec![0xaa];
    write_vec_bytes(&mut expected, &body);
    assert_eq!(out, expected);
    assert_eq!(varint_len(63), 1);
    assert_eq!(varint_len(64), 2);
    assert_eq!(varint_len(16383), 2);
    assert_eq!(varint_len(16384), 4);
}
