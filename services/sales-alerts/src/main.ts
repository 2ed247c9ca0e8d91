import { runMain } from '@leadscorer/runtime';
import { startSalesAlerts } from './service.ts';

// Reference subscriber: POSTs chosen lead.stage-changed events to WEBHOOK_URL, signed.
runMain((onFatal) => startSalesAlerts(process.env, onFatal));
