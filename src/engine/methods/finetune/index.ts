// Registers the fine-tuning methods (spec §4.B).
import './clean';
import './extra';
import './both';
