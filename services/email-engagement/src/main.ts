import { runMain, startConsumerService } from '@leadscorer/scoring-service';

// Consumer service: reads its topic(s), applies each event to the lead in Redis atomically,
// publishes stage changes. All behaviour lives in libs/scoring-service; config is environment.
runMain((onFatal) =>
  startConsumerService(
    { service: 'email-engagement', defaultPort: 9465, topics: ['engagement.email.v1'], onFatal },
    process.env,
  ),
);
