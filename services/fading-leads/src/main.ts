import { runMain, startFadingService } from '@leadscorer/scoring-service';

// Moves leads whose stage changes with no new event (fading scores, expiring buying-intent
// signals) at the computed moment. Safe to run as several replicas.
runMain((onFatal) =>
  startFadingService({ service: 'fading-leads', defaultPort: 9470, onFatal }, process.env),
);
