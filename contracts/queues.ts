// Task queue names: which worker runs what.

export const taskQueues = {
  control: 'ferry-control',
  copy: 'ferry-copy',
  cdc: 'ferry-cdc',
} as const;

export type QueueName = keyof typeof taskQueues;
