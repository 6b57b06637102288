// The neuron-level unlearning methods (spec §4.D); importing this registers them.
import './zeroOut';
import './activations';
import './integratedGradients';
import './slimming';
import './hardConcrete';
