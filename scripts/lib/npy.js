// Tiny .npy (NumPy array file) reader/writer for the Node helper scripts.
// Supports format version 1.0, C order, little-endian '<f4' / '<i4' and '|u1'.
// Writers pad the header so the data starts at byte 64 (or the next multiple
// of 64 for long shapes), as numpy itself does.
'use strict';

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// descr -> typed array constructor
const DESCR_TO_ARRAY = {
  '<f4': Float32Array,
  '<i4': Int32Array,
  '|u1': Uint8Array,
};
const DTYPE_TO_DESCR = { float32: '<f4', int32: '<i4', uint8: '|u1' };
const DESCR_TO_DTYPE = { '<f4': 'float32', '<i4': 'int32', '|u1': 'uint8' };

function descrOf(data) {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint8Array) return '|u1';
  throw new Error('npy: unsupported array type ' + (data && data.constructor.name));
}

// Serializes {data: TypedArray, shape: number[]} to a Buffer.
function encode(data, shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new Error(`npy: shape [${shape}] has ${size} elements, data has ${data.length}`);
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // magic(6) + version(2) + header_len(2) + header + '\n' is a multiple of 64
  const unpadded = 10 + header.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  header = header + ' '.repeat(total - unpadded) + '\n';
  if (header.length > 0xffff) throw new Error('npy: header too long for version 1.0');
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1; // major
  pre[7] = 0; // minor
  pre.writeUInt16LE(header.length, 8);
  // Typed arrays are little-endian on every platform Node runs on here.
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

// Parses a .npy Buffer into {data: TypedArray (own copy), shape, dtype}.
function decode(buf, name = '<buffer>') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new Error(`npy: ${name} is not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let headerLen;
  let off;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    off = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    off = 12;
  } else {
    throw new Error(`npy: ${name} has unsupported format version ${major}`);
  }
  const header = buf.subarray(off, off + headerLen).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`npy: ${name} has a malformed header: ${header}`);
  if (fortran[1] === 'True') throw new Error(`npy: ${name} is Fortran-ordered; only C order is supported`);
  const Ctor = DESCR_TO_ARRAY[descr[1]];
  if (!Ctor) {
    throw new Error(`npy: ${name} has dtype ${descr[1]}; supported: ${Object.keys(DESCR_TO_ARRAY).join(' ')}`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const size = dims.reduce((a, b) => a * b, 1);
  const start = off + headerLen;
  const nbytes = size * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - start < nbytes) {
    throw new Error(`npy: ${name} is truncated: needs ${nbytes} data bytes, has ${buf.length - start}`);
  }
  // Copy so the result is aligned and independent of the source buffer.
  const bytes = new Uint8Array(nbytes);
  bytes.set(buf.subarray(start, start + nbytes));
  return { data: new Ctor(bytes.buffer), shape: dims, dtype: DESCR_TO_DTYPE[descr[1]] };
}

function read(path) {
  return decode(fs.readFileSync(path), path);
}

function write(path, data, shape) {
  fs.writeFileSync(path, encode(data, shape));
}

module.exports = { encode, decode, read, write, DTYPE_TO_DESCR };
