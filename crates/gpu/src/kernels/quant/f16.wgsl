// F16 loader part: row-major f16 elements, two per word (low half first), the chunk padded
// to a whole word. w_vec4 from lib/w_elements.wgsl.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_elem(e: u32) -> f32 {
    return half_to_f32(w[e / 2u] >> (16u * (e % 2u)));
}
