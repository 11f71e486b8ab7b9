// Which build of the model worker this browser runs: the one with WebAssembly's relaxed SIMD
// (its fused multiply-add makes the CPU kernels faster) where the browser has it, else the
// plain SIMD one. A module using relaxed SIMD does not even validate without it, so the
// choice is made here, before loading, by validating the smallest such module: one function
// returning f32x4.relaxed_madd of three constant vectors. Read by worker-loader.js and sw.js.
(() => {
  const zeros = new Array(16).fill(0);
  const konst = [0xfd, 0x0c, ...zeros]; // v128.const
  const body = [0x00, ...konst, ...konst, ...konst, 0xfd, 0x85, 0x02, 0x0b]; // no locals; relaxed_madd; end
  const module = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // its code
  ]);
  let relaxed;
  try {
    relaxed = WebAssembly.validate(module);
  } catch (e) {
    relaxed = false;
  }
  self.labelcastWorkerBuild = relaxed ? 'labelcast-worker-fma' : 'labelcast-worker';
})();
