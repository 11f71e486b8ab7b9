// The elementwise kernel family: one thread per element, 256 per workgroup (grid split over
// x/y, lib/grid.wgsl). Each op (the other files of this folder) declares its `Params`, whose
// first field is the element count `n`, its bindings and `fn apply(i: u32)`; this entry point
// runs it on every element below `n`.

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = element_index(wid, nwg, lid);
    if (i < p.n) {
        apply(i);
    }
}
