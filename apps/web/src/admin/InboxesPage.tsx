export default function InboxesPage() {
  return null;
}
