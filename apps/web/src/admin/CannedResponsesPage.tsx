export default function CannedResponsesPage() {
  return null;
}
