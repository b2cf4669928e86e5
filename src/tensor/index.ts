export { installRuntime, gpu, noGrad } from './engine.ts';
export { Tensor, empty, fromArray, zeros, parameter, numel, type Shape } from './tensor.ts';
export { backward, record } from './tape.ts';
export { scope, scopeAsync } from './scope.ts';
export { add, mul, affine, scale, addRows, mulRows, accumulateInto } from './ops/elementwise.ts';
export { sum, mean, sumAll, meanAll, sumRows } from './ops/reduce.ts';
export { reshape } from './ops/shape.ts';
