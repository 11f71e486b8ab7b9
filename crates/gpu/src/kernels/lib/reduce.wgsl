// Workgroup reductions for 256-thread workgroups: every thread passes its partial value and
// gets the workgroup's total back. Every thread must call them, in uniform control flow.
// The tree (strides 128, 64, …, 1) fixes the order of the additions, so results are the
// same from run to run.

var<workgroup> reduce_scratch: array<f32, 256>;

fn wg_sum(lid: u32, v: f32) -> f32 {
    reduce_scratch[lid] = v;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            reduce_scratch[lid] += reduce_scratch[lid + stride];
        }
        workgroupBarrier();
    }
    let r = reduce_scratch[0];
    // The scratch is reused by the next call: nobody writes before everyone has read.
    workgroupBarrier();
    return r;
}

fn wg_max(lid: u32, v: f32) -> f32 {
    reduce_scratch[lid] = v;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            reduce_scratch[lid] = max(reduce_scratch[lid], reduce_scratch[lid + stride]);
        }
        workgroupBarrier();
    }
    let r = reduce_scratch[0];
    workgroupBarrier();
    return r;
}
