// The weight-level unlearning methods (spec §4.E); importing this file registers them.
// (Subnet and BalancedSubnet are written separately; add their imports here when they land.)
import './greedy';
import './durable';
import './durableAggregate';
import './sou';
