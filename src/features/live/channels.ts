import { type LiveChannelServices, registerLiveChannels as registerFeatureChannels } from '../registry.js'

/**
 * Opens the live channels of each feature with the same access rules as its pages;
 * each feature declares its own channels (src/features/registry.ts lists them).
 */
export function registerLiveChannels(services: LiveChannelServices): void {
  registerFeatureChannels(services)
}
