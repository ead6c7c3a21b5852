import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/**
 * The images a member uploaded. Erasing them happens after the deletion commits
 * (`LeavingService` calls `UploadService.deleteAllForUser`), because removing files cannot
 * be rolled back with the transaction.
 */
export const uploadPersonalData: PersonalDataContributor = {
  name: 'uploads',

  async exportFor(userId, trx, ctx) {
    const uploads = await ctx.services.uploads.listForUser(userId, trx)
    return [{ key: 'uploads', title: 'Images you uploaded (open each address to download it)', items: uploads.map((u) => plain(u as unknown as Record<string, unknown>)) }]
  },

  async eraseFor() {},
}
