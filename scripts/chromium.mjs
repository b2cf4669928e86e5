// The system Chromium the end-to-end tests and the browser benchmark launch, and its flags: WebGPU on (on a
// machine without a GPU that gives SwiftShader, a CPU adapter), and nothing that reaches the network.
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
