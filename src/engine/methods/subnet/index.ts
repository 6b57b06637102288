// Registers the edge-popup weight methods.
import './subnet';
import './balancedSubnet';
