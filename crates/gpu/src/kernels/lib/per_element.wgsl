// The entry point of the kernels with one thread per element, 256 per workgroup (grid split
// over x/y, grid.wgsl). The kernel's parameters have `n`, the element count, and the kernel
// defines `fn apply(i: u32)`, run once for every i below n.

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
