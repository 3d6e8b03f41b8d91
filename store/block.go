package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"zoomwatch/feed"
)

// Source says how an event reached the store.
type Source uint8

const (
	SourceWebSocket Source = 1
	SourceImport    Source = 2
	SourceWebhook   Source = 3
)

func (s Source) String() string {
	switch s {
	case SourceWebSocket:
		return "websocket"
	case SourceImport:
		return "import"
	case SourceWebhook:
		return "webhook"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Record is one stored event.
type Record struct {
	Seq      uint64
	Received time.Time
	Source   Source
	// TS is event_ts (ms), kept beside the JSON so that time filters need no decoding.
	TS feed.Millis
	// Raw is the event exactly as delivered.
	Raw []byte
	// Event is Raw decoded; nil until Decode (queries that show rows decode, export does not).
	Event *feed.Event
}

// Decode fills r.Event from r.Raw (once).
func (r *Record) Decode() *feed.Event {
	if r.Event == nil {
		ev, err := feed.DecodeEvent(r.Raw)
		if err != nil {
			// Only events that decoded are stored, so this is a newer decoder disagreeing
			// with an older one: show the bytes rather than fail.
			ev = &feed.Event{Raw: r.Raw, Type: "(undecodable)", TS: r.TS}
		}
		r.Event = ev
	}
	return r.Event
}

// Events are stored in blocks of up to blockMax consecutive sequence numbers, compressed
// together: similar JSON events compress several times better side by side than one by one
// (measured with s2: 0.27 of the raw size for a block of 64 events against 0.48 for single
// events with a preset dictionary), and one Put per block instead of one per event keeps the
// writer fast. The newest block is rewritten while it fills, so a slow trickle of events still
// ends up in full blocks.
//
// Key: the block's first sequence number, 8 bytes big-endian.
// Value: byte blockVersion, byte codec, then (codec-encoded) the entries:
//
//	uvarint n
//	n × { byte source, uvarint received µs, uvarint event_ts ms, uvarint len }
//	the n raw events, concatenated
const (
	blockVersion = 1
	blockMax     = 64

	codecRaw = 0
	codecS2  = 1
)

var errBadBlock = errors.New("corrupt event block")

// block is a decoded block; its records share one backing array for Raw.
type block struct {
	first uint64
	recs  []Record
	// plain holds the decompressed bytes recs point into, when they came from plainPool.
	plain *[]byte
}

// plainPool recycles the buffers readers decompress blocks into, and the writer encodes
// them from: a page of rare events decompresses a block for each row, and allocating every
// one cost a third of the page.
var plainPool = sync.Pool{New: func() any { return new([]byte) }}

// recycle gives the block's buffer back to plainPool; the block is unusable afterwards.
func (b *block) recycle() {
	if b.plain != nil {
		plainPool.Put(b.plain)
		b.plain, b.recs = nil, nil
	}
}

func (b *block) last() uint64 { return b.first + uint64(len(b.recs)) - 1 }

// get returns the record with sequence seq, if the block holds it.
func (b *block) get(seq uint64) (Record, bool) {
	if b == nil || seq < b.first || seq > b.last() {
		return Record{}, false
	}
	return b.recs[seq-b.first], true
}

func encodeBlock(recs []Record) []byte {
	size := binary.MaxVarintLen64
	for i := range recs {
		size += 1 + 3*binary.MaxVarintLen64 + len(recs[i].Raw)
	}
	buf := plainPool.Get().(*[]byte)
	plain := slices.Grow((*buf)[:0], size)
	plain = binary.AppendUvarint(plain, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		plain = append(plain, byte(r.Source))
		plain = binary.AppendUvarint(plain, uint64(r.Received.UnixMicro()))
		plain = binary.AppendUvarint(plain, uint64(r.TS))
		plain = binary.AppendUvarint(plain, uint64(len(r.Raw)))
	}
	for i := range recs {
		plain = append(plain, recs[i].Raw...)
	}
	out := make([]byte, 2, 2+s2.MaxEncodedLen(len(plain)))
	out[0], out[1] = blockVersion, codecS2
	enc := s2.Encode(out[2:cap(out)], plain) // written in place after the two header bytes
	*buf = plain
	plainPool.Put(buf)
	return out[:2+len(enc)]
}

func decodeBlock(first uint64, v []byte) (*block, error) {
	return decodeBlockInto(first, v, nil)
}

// decodeBlockInto decodes into *buf's memory when it is large enough (growing it otherwise),
// and the block keeps buf (see recycle). With buf nil it allocates.
func decodeBlockInto(first uint64, v []byte, buf *[]byte) (*block, error) {
	if len(v) < 2 || v[0] != blockVersion {
		return nil, fmt.Errorf("events %d…: %w", first, errBadBlock)
	}
	var dst, plain []byte
	if buf != nil {
		dst = (*buf)[:cap(*buf)]
	}
	switch v[1] {
	case codecRaw:
		plain = append(dst[:0], v[2:]...)
	case codecS2:
		var err error
		if plain, err = s2.Decode(dst, v[2:]); err != nil {
			return nil, fmt.Errorf("events %d…: %w: %v", first, errBadBlock, err)
		}
	default:
		return nil, fmt.Errorf("events %d…: %w: codec %d", first, errBadBlock, v[1])
	}
	if buf != nil {
		*buf = plain
	}
	n, k := binary.Uvarint(plain)
	if k <= 0 || n == 0 || n > blockMax {
		return nil, fmt.Errorf("events %d…: %w: count", first, errBadBlock)
	}
	rest := plain[k:]
	b := &block{first: first, recs: make([]Record, n), plain: buf}
	lens := make([]uint64, n)
	for i := range b.recs {
		if len(rest) < 1 {
			return nil, fmt.Errorf("events %d…: %w: header", first, errBadBlock)
		}
		r := &b.recs[i]
		r.Seq, r.Source = first+uint64(i), Source(rest[0])
		rest = rest[1:]
		var vals [3]uint64
		for j := range vals {
			x, k := binary.Uvarint(rest)
			if k <= 0 {
				return nil, fmt.Errorf("events %d…: %w: header", first, errBadBlock)
			}
			vals[j], rest = x, rest[k:]
		}
		r.Received, r.TS, lens[i] = time.UnixMicro(int64(vals[0])), feed.Millis(vals[1]), vals[2]
	}
	for i := range b.recs {
		if uint64(len(rest)) < lens[i] {
			return nil, fmt.Errorf("events %d…: %w: body", first, errBadBlock)
		}
		b.recs[i].Raw, rest = rest[:lens[i]:lens[i]], rest[lens[i]:]
	}
	return b, nil
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// keySeq reads the sequence number in the last 8 bytes of an index key.
func keySeq(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}
